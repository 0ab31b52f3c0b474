"""A fitted model's ranking metrics on held-out events, through the public interface only."""

import numpy as np
import scipy.sparse as sp

from relevo.engine.base import Recommender
from relevo.engine.data import EventLog
from relevo.engine.evaluation.metrics import ranking_metrics


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
    user_index, item_index = _model_indices(model, test)
    known = (user_index >= 0) & (item_index >= 0)
    relevant: dict[int, set[int]] = {}
    for user, item in zip(user_index[known].tolist(), item_index[known].tolist(), strict=True):
        relevant.setdefault(user, set()).add(item)
    users = np.fromiter(relevant, dtype=np.int32, count=len(relevant))
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    excluded = None
    if exclude is not None:
        rows = np.full(len(model.users), -1, dtype=np.int64)
        rows[users] = np.arange(len(users))
        other_user, other_item = _model_indices(model, exclude)
        keep = (other_user >= 0) & (other_item >= 0) & (rows[np.clip(other_user, 0, None)] >= 0)
        ones = np.ones(int(keep.sum()), dtype=np.float32)
        excluded = sp.csr_matrix(
            (ones, (rows[other_user[keep]], other_item[keep])), shape=(len(users), len(model.items))
        )
    recommended, _ = model.recommend_indices(
        users, k, histories=model.histories(users), exclude_history=exclude_history, excluded=excluded
    )
    metrics = ranking_metrics(recommended, [relevant[user] for user in users.tolist()], k, len(model.items))
    return {**metrics, "users": float(len(users))}


def _model_indices(model: Recommender, events: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """The events' users and items as the model's indices (-1 where it does not know them)."""
    users = model.users.indices(events.users.lookup(events.user).tolist())
    items = model.items.indices(events.items.lookup(events.item).tolist())
    return users, items
