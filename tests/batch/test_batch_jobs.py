"""Batch generation: the background-jobs and purchases APIs' background routes and the canonical
jobs API; results stored once per user, read back paged or exported; jobs resumed after a
restart."""

import csv
import io
import json
from datetime import timedelta

import numpy as np
import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.batch import generation, service
from relevo.batch.models import JobResult, ranked, ranked_documents
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.jobs import service as jobs_service
from relevo.jobs.models import JobStatus
from relevo.recommend.answer import AnswerInputs, RecommendationList, UserRequest
from relevo.server.app import create_app
from tests.errors import assert_error, assert_error_mentioning
from tests.recommend.shop import DemoShop, most_active_user, purchases_of, train

JOBS = "/api/v1/jobs"


def known_users(shop: DemoShop, count: int) -> list[str]:
    return list(dict.fromkeys(event.user_id for event in shop.events))[:count]


def test_background_jobs_api_generates_in_the_background_and_serves_the_stored_result(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    users = [*known_users(shop, 3), "never-seen"]
    started = client.post("/generate-recommendations", json={"user_ids": users, "top_k": 5}, headers=admin_headers)

    assert started.status_code == 200, started.text
    job = started.json()
    assert job["status"] == "pending" and job["total_users"] == 4
    assert {"job_id", "message", "created_at", "processed_users", "failed_users"} <= set(job)
    done = client.get(f"/job-status/{job['job_id']}", headers=admin_headers).json()
    assert done["status"] == "completed", done
    assert (done["processed_users"], done["failed_users"]) == (4, 0)
    assert done["completed_at"] and done["started_at"]

    results = client.get(f"{JOBS}/{job['job_id']}/results", headers=admin_headers).json()["items"]
    stored = {row["user_id"]: [item["product_id"] for item in row["items"]] for row in results}
    assert set(stored) == set(users) and all(len(items) == 5 for items in stored.values())  # strangers too
    user = users[0]
    served = client.get(f"/recommendations/{user}").json()
    assert [item["product_id"] for item in served] == stored[user]
    assert [item["rank"] for item in served] == [1, 2, 3, 4, 5]
    assert not set(stored[user]) & purchases_of(shop, user)


def test_background_jobs_api_lists_jobs_newest_first_and_deletes_only_finished_ones(
    client: TestClient, admin_headers: dict, session: Session, shop: DemoShop, trained: dict
) -> None:
    finished = client.post("/generate-recommendations", json={"user_ids": ["a"]}, headers=admin_headers).json()
    waiting = service.start_generation(
        session=session, user_ids=["b"], top_k=3, created_by=None, max_users=10, max_pending=None
    )
    session.flush()

    listed = client.get("/jobs", params={"limit": 2}, headers=admin_headers).json()
    assert [job["job_id"] for job in listed] == [waiting.id, finished["job_id"]]
    assert_error_mentioning(client.delete(f"/job/{waiting.id}", headers=admin_headers), 409, "pending")
    deleted = client.delete(f"/job/{finished['job_id']}", headers=admin_headers)
    assert deleted.status_code == 200 and deleted.json()["job_id"] == finished["job_id"]
    assert_error(client.get(f"/job-status/{finished['job_id']}", headers=admin_headers), 404)
    assert_error(client.delete("/job/no-such-job", headers=admin_headers), 404)


def test_bad_batch_requests_name_the_problem(client: TestClient, admin_headers: dict, settings: Settings) -> None:
    settings.max_batch_users = 2
    post = lambda body: client.post("/generate-recommendations", json=body, headers=admin_headers)  # noqa: E731

    assert_error_mentioning(post({"user_ids": []}), 422, "user_ids")
    assert_error_mentioning(post({"user_ids": ["a"], "top_k": 0}), 422, "top_k")
    assert_error_mentioning(post({"user_ids": ["a"], "top_k": 201}), 422, "top_k")
    assert_error_mentioning(post({"user_ids": ["a", "b", "c"]}), 400, "user_ids", "2")
    assert_error_mentioning(client.post(JOBS, json={"top_k": 3}, headers=admin_headers), 422, "user_ids")
    assert_error(client.post("/generate-recommendations", json={"user_ids": ["a"]}), 401)


def test_a_segment_job_pages_its_results_and_exports_them(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    started = client.post(JOBS, json={"segment": "all", "top_k": 3}, headers=admin_headers)
    assert started.status_code == 202, started.text
    job = client.get(f"{JOBS}/{started.json()['job_id']}", headers=admin_headers).json()
    users = len(known_users(shop, 10_000))
    assert job["status"] == "completed" and job["total_users"] >= users

    seen, cursor = [], None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{JOBS}/{job['job_id']}/results", params=params, headers=admin_headers).json()
        seen += [row["user_id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == job["total_users"]

    lines = client.get(f"{JOBS}/{job['job_id']}/export", headers=admin_headers).text.splitlines()
    assert len(lines) == job["total_users"] and all(len(json.loads(line)["items"]) == 3 for line in lines)
    exported = client.get(f"{JOBS}/{job['job_id']}/export", params={"format": "csv"}, headers=admin_headers)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert exported.headers["content-type"].startswith("text/csv")
    assert len(rows) == 3 * job["total_users"] and {row["rank"] for row in rows} == {"1", "2", "3"}


def test_a_pending_job_can_be_cancelled_and_then_is_not_run(
    client: TestClient, admin_headers: dict, session: Session, trained: dict
) -> None:
    job = service.start_generation(
        session=session, user_ids=["a"], top_k=3, created_by=None, max_users=10, max_pending=None
    )
    session.flush()

    cancelled = client.post(f"{JOBS}/{job.id}/cancel", headers=admin_headers).json()
    assert cancelled["status"] == "cancelled"
    assert_error_mentioning(client.post(f"{JOBS}/{job.id}/cancel", headers=admin_headers), 409, "cancelled")
    assert client.delete(f"{JOBS}/{job.id}", headers=admin_headers).status_code == 204


def stored(session: Session, job_id: str) -> dict[str, tuple[list[dict], str | None]]:
    """The job's rows as read back: user → (items, error)."""
    rows = session.scalars(select(JobResult).where(JobResult.job_id == job_id))
    return {row.user_id: (row.items, row.error) for row in rows}


def test_results_are_written_once_per_user(session: Session) -> None:
    job = service.start_generation(
        session=session, user_ids=["a", "b"], top_k=3, created_by=None, max_users=10, max_pending=None
    )
    rows = [("a", ranked(["P1"], [1.0]), None), ("b", None, "ValueError: no")]

    assert service.store(session=session, job_id=job.id, rows=rows) == (2, 1)  # two new, one of them failed
    assert service.store(session=session, job_id=job.id, rows=rows) == (0, 0)  # a chunk done again
    assert stored(session, job.id) == {"a": ([{"product_id": "P1", "score": 1.0}], None), "b": ([], "ValueError: no")}
    assert service.undone_users(session=session, job_id=job.id, user_ids=["a", "c", "b"]) == ["c"]
    # Cut at other bounds: "a" in the middle is not looked up, and storing it again is skipped.
    assert service.undone_users(session=session, job_id=job.id, user_ids=["c", "a", "d"]) == ["c", "a", "d"]
    again = [("c", ranked([], []), None), ("a", ranked(["P2"], [0.5]), None), ("d", ranked([], []), None)]
    assert service.store(session=session, job_id=job.id, rows=again) == (2, 0)
    assert stored(session, job.id)["a"] == ([{"product_id": "P1", "score": 1.0}], None)  # written once
    assert {user: found for user, found in stored(session, job.id).items() if user in "cd"} == {
        "c": ([], None),
        "d": ([], None),
    }


def test_documents_serialised_for_a_batch_read_back_as_their_rankings(session: Session) -> None:
    job = service.start_generation(
        session=session, user_ids=["a", "b"], top_k=3, created_by=None, max_users=10, max_pending=None
    )
    products = np.array([["P1", "P2", "P3"], ["P4", "P1", "P1"]])
    scores = np.array([[0.91234567, 0.5, 0.25], [2.0, np.nan, np.nan]], dtype=np.float32)
    documents = ranked_documents(products, scores, np.array([3, 1]))  # b: one found, then padding

    service.store(session=session, job_id=job.id, rows=[("a", documents[0], None), ("b", documents[1], None)])

    assert stored(session, job.id) == {
        "a": (
            [
                {"product_id": "P1", "score": 0.912346},
                {"product_id": "P2", "score": 0.5},
                {"product_id": "P3", "score": 0.25},
            ],
            None,
        ),
        "b": ([{"product_id": "P4", "score": 2.0}], None),
    }
    assert orjson.loads(bytes(orjson.dumps(documents[0]))) == ranked(["P1", "P2", "P3"], [0.912346, 0.5, 0.25])


def test_jobs_left_pending_or_running_by_a_stopped_server_resume_when_one_starts(
    settings: Settings, database: Database, session: Session, client: TestClient, trained: dict, shop: DemoShop
) -> None:
    users = known_users(shop, 2)
    waiting = service.start_generation(
        session=session, user_ids=users, top_k=3, created_by=None, max_users=10, max_pending=None
    )
    cut_short = service.start_generation(
        session=session, user_ids=users, top_k=3, created_by=None, max_users=10, max_pending=None
    )
    cut_short.status = JobStatus.running
    alive = service.start_generation(
        session=session, user_ids=users, top_k=3, created_by=None, max_users=10, max_pending=None
    )
    alive.status, alive.heartbeat_at = JobStatus.running, utcnow()  # another server is at it
    # One chunk written before the stop, counted as a chunk's write counts it.
    service.store(session=session, job_id=cut_short.id, rows=[(users[0], ranked(["P"], [1.0]), None)])
    jobs_service.advance(session=session, job_id=cut_short.id, processed=1, failed=0)
    cut_short.heartbeat_at = utcnow() - timedelta(minutes=5)  # then its server stopped
    session.flush()

    with TestClient(create_app(settings, database=database)):  # a server starting
        pass

    for job, status in ((waiting, "completed"), (cut_short, "completed"), (alive, "running")):
        session.refresh(job)
        assert job.status == status, (job.id, job.status, job.error)
    assert len(stored(session, cut_short.id)) == 2 and cut_short.processed == 2 and not cut_short.failed
    assert cut_short.result["users"] == cut_short.result["generated"] == 2
    kept = service.results(session=session, job_id=cut_short.id, after=0, limit=10)[0]
    assert kept.items == [{"product_id": "P", "score": 1.0}]  # what was written before stays


def test_purchases_api_generates_the_product_in_the_background(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    live = client.get("/recommendations", params={"user_id": user}).json()["product"]

    started = client.post("/recommendations/generate", json={"user_id": user}, headers=admin_headers)

    assert started.status_code == 202 and started.json() == {"status": "recommendations_generation_started"}
    assert client.get("/recommendations", params={"user_id": user}).json() == {"user_id": user, "product": live}
    assert_error_mentioning(client.post("/recommendations/generate", json={}, headers=admin_headers), 422, "user_id")


def test_a_job_failing_as_a_whole_says_why(client: TestClient, admin_headers: dict, shop: DemoShop) -> None:
    job = client.post("/generate-recommendations", json={"user_ids": ["a"]}, headers=admin_headers).json()

    failed = client.get(f"/job-status/{job['job_id']}", headers=admin_headers).json()
    assert failed["status"] == "failed" and "train a model first" in failed["error"]


def test_a_job_whose_users_partly_fail_completes_and_keeps_the_reasons(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict, monkeypatch
) -> None:
    # Nothing in Relevo fails for one user on purpose: a stand-in error for one user (who is
    # answered one by one, being a stranger) shows what any per-user failure does.
    answer = generation.recommend_for_user

    def failing_for_one(inputs: AnswerInputs, events: tuple, asked: UserRequest) -> RecommendationList:
        if asked.user_id == "broken-user":
            raise ValueError("this user's answer could not be computed")
        return answer(inputs, events, asked)

    monkeypatch.setattr(generation, "recommend_for_user", failing_for_one)
    users = [*known_users(shop, 3), "broken-user", "never-seen"]
    started = client.post("/generate-recommendations", json={"user_ids": users, "top_k": 4}, headers=admin_headers)

    done = client.get(f"/job-status/{started.json()['job_id']}", headers=admin_headers).json()
    assert done["status"] == "completed", done
    assert (done["processed_users"], done["failed_users"]) == (5, 1)
    assert "1 failed" in done["message"]
    rows = client.get(f"{JOBS}/{done['job_id']}/results", headers=admin_headers).json()["items"]
    by_user = {row["user_id"]: row for row in rows}
    assert "could not be computed" in by_user["broken-user"]["error"] and by_user["broken-user"]["items"] == []
    assert all(
        len(by_user[user]["items"]) == 4 and by_user[user]["error"] is None for user in users if user != "broken-user"
    )


def test_users_scored_together_get_what_a_request_gets(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    users = known_users(shop, 12)
    started = client.post(JOBS, json={"user_ids": users, "top_k": 6}, headers=admin_headers).json()
    rows = client.get(f"{JOBS}/{started['job_id']}/results", headers=admin_headers).json()["items"]
    for row in rows:
        live = client.get(f"/api/v1/recommendations/{row['user_id']}", params={"count": 6}).json()
        assert [item["product_id"] for item in row["items"]] == [item["product_id"] for item in live["items"]]


def test_an_approximate_job_searches_the_factor_models_item_graph(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    assert train(client, admin_headers, algorithm="als")["status"] == "deployed"
    users = known_users(shop, 40)
    body = {"user_ids": users, "top_k": 5, "scoring": "approximate"}
    job = client.post(JOBS, json=body, headers=admin_headers).json()
    job = client.get(f"{JOBS}/{job['job_id']}", headers=admin_headers).json()
    assert job["status"] == "completed" and job["result"]["scoring"] == "approximate", job
    rows = client.get(f"{JOBS}/{job['job_id']}/results", headers=admin_headers).json()["items"]
    same = 0
    for row in rows:
        live = client.get(f"/api/v1/recommendations/{row['user_id']}", params={"count": 5}).json()
        assert len(row["items"]) == 5
        same += len({item["product_id"] for item in row["items"]} & {item["product_id"] for item in live["items"]})
    assert same >= 0.95 * 5 * len(rows)


def test_a_model_without_item_factors_scores_an_approximate_job_exactly(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    body = {"user_ids": known_users(shop, 5), "top_k": 5, "scoring": "approximate"}
    job = client.post(JOBS, json=body, headers=admin_headers).json()
    job = client.get(f"{JOBS}/{job['job_id']}", headers=admin_headers).json()
    assert job["status"] == "completed" and job["result"]["scoring"] == "exact", job
    assert_error_mentioning(client.post(JOBS, json={**body, "scoring": "fast"}, headers=admin_headers), 422, "scoring")
