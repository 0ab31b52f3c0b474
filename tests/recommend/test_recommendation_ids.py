"""Recommendation ids: 32 hex characters, unique within a process and across processes, forked
ones included."""

import multiprocessing
import re

from relevo.recommend.answer import new_recommendation_id


def _child_id(connection) -> None:
    connection.send(new_recommendation_id())
    connection.close()


def test_ids_are_unique_and_look_like_uuids() -> None:
    ids = [new_recommendation_id() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", found) for found in ids)


def test_a_forked_process_draws_a_prefix_of_its_own() -> None:
    mine = new_recommendation_id()
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_child_id, args=(sending,))
    child.start()
    theirs = receiving.recv()
    child.join()

    assert theirs[:16] != mine[:16]
