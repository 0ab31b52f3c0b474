"""Fitted models' ranking metrics on held-out events, through the public interface only: a
model's figures, each user's, and two models compared user by user on the same events."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from relevo.engine.base import Recommender
from relevo.engine.data import EventLog
from relevo.engine.evaluation.metrics import METRICS, coverage, ranking_metrics, standard_error, user_metrics


@dataclass(frozen=True)
class UserFigures:
    """Each judged user's metrics at k (`values[metric]`, aligned with `users`, their ids),
    and the catalog coverage of what they were shown (one figure for them all)."""

    users: np.ndarray
    values: dict[str, np.ndarray]
    coverage: float


@dataclass(frozen=True)
class Comparison:
    """Two models' `metric` at `k` on the same held-out users. `difference` is the challenger's
    figure less the champion's (the mean of the per-user differences), `standard_error` that
    mean's (the spread of the per-user differences over the square root of `users`)."""

    metric: str
    k: int
    users: int
    challenger: float
    champion: float
    difference: float
    standard_error: float


def evaluate(
    model: Recommender,
    test: EventLog,
    k: int = 10,
    *,
    exclude_history: bool = True,
    exclude: EventLog | None = None,
    max_users: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Metrics at k over the users of `test` the model knows, relevant items being those in
    their test events; `users` counts them. `exclude`: more events whose items are left out
    of their users' recommendations (say, a validation part the model was not fit on).
    `max_users`: measure on a random sample of that many users (seeded) when there are more."""
    users, relevant = _judged(test, [model], max_users, seed)
    recommended, wanted = _ranked(model, test, users, relevant, k, exclude_history, exclude)
    return {**ranking_metrics(recommended, wanted, k, len(model.items)), "users": float(len(users))}


def per_user(
    model: Recommender,
    test: EventLog,
    k: int = 10,
    *,
    exclude_history: bool = True,
    exclude: EventLog | None = None,
    max_users: int | None = None,
    seed: int = 0,
    known_to: Sequence[Recommender] = (),
) -> UserFigures:
    """`evaluate`, user by user: the same users (and the same sample of them), each one's
    metrics. `known_to`: more models whose users and items alone count, so that each model
    judged with the others as `known_to` is judged on the same users and the same relevant items."""
    users, relevant = _judged(test, [model, *known_to], max_users, seed)
    recommended, wanted = _ranked(model, test, users, relevant, k, exclude_history, exclude)
    if len(users):
        values = user_metrics(recommended, wanted, k)
    else:
        values = {name: np.zeros(0) for name in METRICS if name != "coverage"}
    return UserFigures(
        users=test.users.lookup(users), values=values, coverage=coverage(recommended, k, len(model.items))
    )


def compare(
    challenger: Recommender,
    champion: Recommender,
    test: EventLog,
    k: int = 10,
    metric: str = "ndcg",
    *,
    exclude_history: bool = True,
    max_users: int | None = None,
    seed: int = 0,
) -> Comparison:
    """Both models' `metric` at k on the same users of `test` (those both know, with the items
    both know as relevant), and the paired difference with its standard error. Coverage is one
    figure for all the users, not a mean over them: compared, its standard error is 0."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: one of {', '.join(METRICS)}")
    options = {"exclude_history": exclude_history, "max_users": max_users, "seed": seed}
    ours = per_user(challenger, test, k, known_to=[champion], **options)
    theirs = per_user(champion, test, k, known_to=[challenger], **options)
    if metric == "coverage":
        first, second, error = ours.coverage, theirs.coverage, 0.0
    else:
        differences = ours.values[metric] - theirs.values[metric]
        first, second = float(ours.values[metric].mean()), float(theirs.values[metric].mean())
        error = standard_error(differences)
    if not len(ours.users):
        first = second = 0.0
    return Comparison(
        metric=metric,
        k=k,
        users=len(ours.users),
        challenger=first,
        champion=second,
        difference=first - second,
        standard_error=error,
    )


def _judged(
    test: EventLog, models: Sequence[Recommender], max_users: int | None, seed: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The users of `test` to judge (its indices, in order) and each one's relevant items (its
    indices): the events whose user and item every model knows; users in the order of their
    first such event, then a seeded sample of `max_users` of them, kept in that sample's sorted order."""
    known = np.ones(len(test), dtype=bool)
    for model in models:
        known &= (_user_map(model, test)[test.user] >= 0) & (_item_map(model, test)[test.item] >= 0)
    relevant: dict[int, set[int]] = {}
    for user, item in zip(test.user[known].tolist(), test.item[known].tolist(), strict=True):
        relevant.setdefault(user, set()).add(item)
    users = np.fromiter(relevant, dtype=np.int32, count=len(relevant))
    if max_users is not None and len(users) > max_users:
        users = np.random.default_rng(seed).choice(users, max_users, replace=False)
    users = np.sort(users)
    return users, [np.fromiter(relevant[user], dtype=np.int32) for user in users.tolist()]


def _ranked(
    model: Recommender,
    test: EventLog,
    users: np.ndarray,
    relevant: list[np.ndarray],
    k: int,
    exclude_history: bool,
    exclude: EventLog | None,
) -> tuple[np.ndarray, list[set[int]]]:
    """The model's top k for these users of `test` (its item indices) and their relevant
    items as its indices."""
    item_map = _item_map(model, test)
    model_users = _user_map(model, test)[users]
    excluded = None
    if exclude is not None:
        rows = np.full(len(model.users), -1, dtype=np.int64)
        rows[model_users] = np.arange(len(users))
        other_user, other_item = _user_map(model, exclude)[exclude.user], _item_map(model, exclude)[exclude.item]
        keep = (other_user >= 0) & (other_item >= 0) & (rows[np.clip(other_user, 0, None)] >= 0)
        ones = np.ones(int(keep.sum()), dtype=np.float32)
        excluded = sp.csr_matrix(
            (ones, (rows[other_user[keep]], other_item[keep])), shape=(len(users), len(model.items))
        )
    recommended, _ = model.recommend_indices(
        model_users, k, histories=model.histories(model_users), exclude_history=exclude_history, excluded=excluded
    )
    return recommended, [set(item_map[items].tolist()) for items in relevant]


def _user_map(model: Recommender, events: EventLog) -> np.ndarray:
    """Each of the events' users (by their index) as the model's index, -1 where it does not know it."""
    return model.users.indices(events.users.ids.tolist())


def _item_map(model: Recommender, events: EventLog) -> np.ndarray:
    return model.items.indices(events.items.ids.tolist())
