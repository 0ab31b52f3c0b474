"""How accuracy is measured on MovieLens-100K: the ratings as event logs, the two published
protocols (their splits, reproduced draw for draw, and their metrics), and scoring a fitted
model on a protocol's task through the engine's public interface."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from benchmarks import movielens
from relevo.engine.base import Recommender
from relevo.engine.data import EventLog, EventWeights, ItemCatalog, TrainingData
from relevo.engine.evaluation.metrics import user_metrics
from relevo.engine.evaluation.split import ratio_split_in_order

K = 10
# Ratings are not a stream of behaviour that goes stale: no fading. What one rating weighs is a
# setting ("ratings", see Data), chosen on validation like the others.
WEIGHTS = EventWeights(weights={"rating": 1.0}, half_life_days=0)


@dataclass(frozen=True)
class Data:
    """The ratings as event logs over the same users and items, one per way of weighing a
    rating: "count", every rating one interaction (every rating is relevant in both protocols,
    so this is the faithful implicit reading); "value", its value / 3 (EventLog.matrix scales a
    rating's weight by value / 3); "capped", min(value, 3) / 3: a low rating says less, a high
    one no more than a 3."""

    logs: dict[str, EventLog]
    catalog: ItemCatalog

    @classmethod
    def load(cls) -> "Data":
        ratings = movielens.load_ratings()
        types = ["rating"] * len(ratings)
        count = EventLog.from_columns(ratings.user, ratings.item, types, ratings.timestamp)
        logs = {"count": count}
        for name, values in (("value", ratings.rating), ("capped", np.minimum(ratings.rating, 3.0))):
            logs[name] = EventLog.from_columns(
                ratings.user, ratings.item, types, ratings.timestamp, values, items=count.items
            )
        return cls(logs=logs, catalog=ItemCatalog.from_records(count.items, movielens.load_movies()))

    @property
    def events(self) -> EventLog:
        return self.logs["count"]

    def training(self, mask: np.ndarray, *, ratings: str) -> TrainingData:
        return TrainingData(events=self.logs[ratings].subset(mask), catalog=self.catalog, weights=WEIGHTS)


# Splits


def stratified_split(keys: np.ndarray, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Microsoft Recommenders' python_stratified_split, step for step: the test mask, and the
    rows in the order the splitter returns them. One uniform draw per row from numpy's legacy
    generator (np.random.seed(seed), then np.random.rand), rows sorted by group key (the
    numeric item id, as their loader reads it) then draw, each row's rank in its group divided
    by the group's size: up to `ratio` is training, above it test (so a group of one is test)."""
    groups = np.unique(keys, return_inverse=True)[1]  # dense codes in key order
    draws = np.random.RandomState(seed).rand(len(groups))
    order = np.lexsort((draws, groups))
    sizes = np.bincount(groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    in_order = groups[order]
    share = (np.arange(len(order)) - starts[in_order] + 1) / sizes[in_order]
    test = np.zeros(len(groups), dtype=bool)
    test[order] = share > ratio
    return test, order


def recbole_counts(size: int, ratios: list[float]) -> list[int]:
    """RecBole's Dataset._calcu_split_ids as part sizes: every part but the first rounded
    down, then a part whose exact share is under one event gets one from the first."""
    counts = [int(ratio * size) for ratio in ratios]
    counts[0] = size - sum(counts[1:])
    for part in range(1, len(ratios)):
        if counts[0] <= 1:
            break
        if 0 < ratios[-part] * size < 1:
            counts[-part] += 1
            counts[0] -= 1
    return counts


def torch_permutation(n: int, seed: int) -> np.ndarray:
    """What torch.randperm(n) returns after torch.manual_seed(seed), the order RecBole 1.2.1
    shuffles its events in (order RO), without torch: torch's CPU generator is the MT19937 that
    numpy's legacy seeding seeds, and randperm (for n under 2**32 / 20) is a Fisher-Yates
    shuffle swapping position i with i + (the next 32-bit draw) % (n - i)."""
    generator = np.random.MT19937()
    key, position = np.random.RandomState(seed).get_state()[1:3]
    generator.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": position}}
    offsets = (generator.random_raw(max(n - 1, 0)).astype(np.int64) % np.arange(n, 1, -1)).tolist()
    order = list(range(n))
    for i, offset in enumerate(offsets):
        order[i], order[i + offset] = order[i + offset], order[i]
    return np.array(order, dtype=np.int64)


def recbole_split(events: EventLog) -> tuple[np.ndarray, bool]:
    """Each event's part (0 train, 1 validation, 2 test), RecBole's own: its shuffle of the
    events in file order, then each user's events split in that order; and whether every
    user's part sizes are RecBole's (a check of the counting)."""
    ratios = [0.8, 0.1, 0.1]  # as given: RecBole normalises them by their sum, which is 1 here
    parts = ratio_split_in_order(events, ratios, torch_permutation(len(events), seed=2020))
    per_user = np.zeros((len(events.users), 3), dtype=np.int64)
    np.add.at(per_user, (events.user, parts), 1)
    exact = all(recbole_counts(int(row.sum()), ratios) == row.tolist() for row in per_user)
    return parts, exact


# Scoring


def recommenders_metrics(per_user: dict[str, np.ndarray], relevant: list[set[int]]) -> dict[str, float]:
    """Microsoft Recommenders' python_evaluation, from each user's figures at 10 (`user_metrics`).
    Precision (hits / k), recall (hits / all relevant) and NDCG (binary gains, ideal DCG of
    min(k, relevant) hits) are the engine's definitions. MAP is not: their table's MAP divides
    each user's summed precision-at-hits by all of the user's relevant items (their `map`, what
    `map_at_k` computed when the table was made), where the engine's MAP@k divides by
    min(k, relevant)."""
    counts = np.array([len(wanted) for wanted in relevant], dtype=float)
    return {
        "P@10": float(per_user["precision"].mean()),
        "R@10": float(per_user["recall"].mean()),
        "NDCG@10": float(per_user["ndcg"].mean()),
        "MAP": float((per_user["map"] * np.minimum(counts, K) / counts).mean()),
    }


def recbole_metrics(per_user: dict[str, np.ndarray], relevant: list[set[int]]) -> dict[str, float]:
    """RecBole's Precision, Recall, NDCG, MRR and Hit at 10: the engine's definitions, averaged."""
    names = {"P@10": "precision", "R@10": "recall", "NDCG@10": "ndcg", "MRR@10": "mrr", "Hit@10": "hit_rate"}
    return {name: float(per_user[engine_name].mean()) for name, engine_name in names.items()}


@dataclass(frozen=True)
class Task:
    """One fit and score: fit on the `train` events; rank for the users of the `target`
    events, whose target items are the relevant ones, leaving out their training items and
    the items of their `masked` events; `trained_items_only`: only items seen in training
    can be recommended (what the Recommenders models know)."""

    train: np.ndarray
    target: np.ndarray
    masked: np.ndarray | None = None
    trained_items_only: bool = False


class Scorer:
    """A task's users, relevant items and exclusions, worked out once for every model."""

    def __init__(self, events: EventLog, task: Task, metrics: Callable[..., dict[str, float]]) -> None:
        self.task, self.metrics, self.items = task, metrics, len(events.items)
        self.users = np.unique(events.user[task.target]).astype(np.int32)
        row = np.full(len(events.users), -1, dtype=np.int64)
        row[self.users] = np.arange(len(self.users))
        self.relevant: list[set[int]] = [set() for _ in self.users]
        for user, item in zip(row[events.user[task.target]].tolist(), events.item[task.target].tolist(), strict=True):
            self.relevant[user].add(item)
        self.excluded = None
        if task.masked is not None:
            masked = task.masked & (row[events.user] >= 0)
            ones = np.ones(int(masked.sum()), dtype=np.float32)
            shape = (len(self.users), self.items)
            self.excluded = sp.csr_matrix((ones, (row[events.user[masked]], events.item[masked])), shape=shape)
        self.allowed = None
        if task.trained_items_only:
            self.allowed = np.bincount(events.item[task.train], minlength=self.items) > 0

    def score(self, model: Recommender) -> dict[str, float]:
        return self.score_by_user(model)[0]

    def score_by_user(self, model: Recommender) -> tuple[dict[str, float], np.ndarray]:
        """The figures and, from the same ranking, each user's NDCG@10 (for standard errors)."""
        recommended, _ = model.recommend_indices(
            self.users, K, histories=model.histories(self.users), excluded=self.excluded, allowed=self.allowed
        )
        per_user = user_metrics(recommended, self.relevant, K)
        return self.metrics(per_user, self.relevant), per_user["ndcg"]


@dataclass(frozen=True)
class Check:
    """A setting another tool was run with on the same split, and the test figures its own run
    gave: when Relevo's model with that setting gives the same, split and metrics agree."""

    label: str
    algorithm: str
    settings: dict[str, Any]
    expected: dict[str, float]


@dataclass(frozen=True)
class Protocol:
    """A published way of measuring: its two tasks (tune, then test), its metrics and how
    its settings are chosen."""

    name: str
    title: str
    validation: Task
    test: Task
    metrics: Callable[..., dict[str, float]]
    select_by: str  # the validation figure settings are chosen by
    target: float  # NDCG@10 the best algorithm should reach
    notes: list[str]  # split sizes, printed above the results
    anchors: list[str]  # published figures, printed under the table
    check: Check | None = None


def protocol_a(data: Data) -> Protocol:
    """Microsoft Recommenders' benchmark, with a validation part for tuning carved out of its
    training part (its notebook tunes nothing: it takes settings from the literature)."""
    events = data.events
    item_numbers = events.items.ids.astype(np.int64)[events.item]
    test, order = stratified_split(item_numbers, 0.75, seed=42)
    train = ~test
    # Validation: the same splitter run on the training part as it hands it back (its row
    # order decides which row gets which draw), as python_stratified_split(df_train) would.
    rows = order[train[order]]
    inner = np.zeros(len(events), dtype=bool)
    inner[rows[stratified_split(item_numbers[rows], 0.75, seed=42)[0]]] = True
    users_without_training = len(set(events.user[test].tolist()) - set(events.user[train].tolist()))
    notes = [
        f"split: {int(train.sum()):,} training / {int(test.sum()):,} test ratings "
        f"({test.mean():.1%} test; {users_without_training} test users without training ratings)",
        f"tuning: {int((train & ~inner).sum()):,} / {int(inner.sum()):,} of the training part, split the same way",
    ]
    return Protocol(
        name="A",
        title="Microsoft Recommenders (stratified by item 75/25, seed 42; training items removed; k = 10)",
        validation=Task(train=train & ~inner, target=inner, trained_items_only=True),
        test=Task(train=train, target=test, trained_items_only=True),
        metrics=recommenders_metrics,
        select_by="NDCG@10",
        target=0.48,
        notes=notes,
        anchors=[
            "MAP: each user's summed precision at hits over all the user's relevant items, as the table's MAP",
            "published (Recommenders README, same split and metrics; NDCG@10 / P@10): BiVAE 0.475 / 0.412,",
            "  cornac BPR 0.442 / 0.388, LightGCN 0.420 / 0.380, SAR 0.382 / 0.331",
        ],
    )


def protocol_b(data: Data) -> Protocol:
    """RecBole's defaults: its validation part is the one it early-stops and tunes on."""
    parts, exact = recbole_split(data.events)
    sizes = np.bincount(parts, minlength=3)
    notes = [
        f"split: {sizes[0]:,} / {sizes[1]:,} / {sizes[2]:,} ratings (train / validation / test); "
        f"per-user part sizes as RecBole's split_by_ratio rounds them: {'yes' if exact else 'NO'}",
    ]
    return Protocol(
        name="B",
        title="RecBole 1.2.1 defaults (RS 80/10/10 per user, seed 2020, full ranking; k = 10)",
        validation=Task(train=parts == 0, target=parts == 1),
        test=Task(train=parts == 0, target=parts == 2, masked=parts == 1),
        metrics=recbole_metrics,
        select_by="MRR@10",
        target=0.34,
        notes=notes,
        anchors=[
            "measured on this machine with RecBole 1.2.1, same protocol (NDCG@10): EASE 0.3295, SLIMElastic 0.3236,",
            "  MultiVAE 0.2854, BPR 0.2928, ItemKNN 0.2834; implicit ALS tuned 0.3326",
        ],
        check=Check(
            label="RecBole's EASE with its defaults (reg_weight 250), run by RecBole 1.2.1 on this split",
            algorithm="ease",
            settings={"l2": 250.0, "dropout": 0.0, "ratings": "count"},
            expected={"P@10": 0.2206, "R@10": 0.2805, "NDCG@10": 0.3295, "MRR@10": 0.5277, "Hit@10": 0.8197},
        ),
    )
