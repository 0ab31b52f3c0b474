"""A fitted model's ranking metrics on held-out events, through the public interface only."""

import numpy as np

from relevo.engine.base import Recommender
from relevo.engine.data import EventLog
from relevo.engine.evaluation.metrics import ranking_metrics


def evaluate(model: Recommender, test: EventLog, k: int = 10, *, exclude_history: bool = True) -> dict[str, float]:
    """Metrics at k over the users of `test` the model knows, relevant items being those in
    their test events; `users` counts them."""
    test_users = test.users.lookup(test.user)
    test_items = test.items.lookup(test.item)
    user_index = model.users.indices(test_users.tolist())
    item_index = model.items.indices(test_items.tolist())
    known = (user_index >= 0) & (item_index >= 0)
    relevant: dict[int, set[int]] = {}
    for user, item in zip(user_index[known].tolist(), item_index[known].tolist(), strict=True):
        relevant.setdefault(user, set()).add(item)
    users = np.fromiter(relevant, dtype=np.int32, count=len(relevant))
    recommended, _ = model.recommend_indices(
        users, k, histories=model.histories(users), exclude_history=exclude_history
    )
    metrics = ranking_metrics(recommended, [relevant[user] for user in users.tolist()], k, len(model.items))
    return {**metrics, "users": float(len(users))}
