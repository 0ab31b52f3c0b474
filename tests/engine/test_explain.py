"""Why each item was recommended: the parts of its score are the very parts the hybrid blended,
recording them changes no answer, and each kind of component names the history item a plain
computation names."""

from functools import cache

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine import explain
from relevo.engine.algorithms.als import ALS
from relevo.engine.algorithms.bpr import BPR
from relevo.engine.algorithms.content import Content
from relevo.engine.algorithms.cooccurrence import Cooccurrence
from relevo.engine.algorithms.ease import EASE
from relevo.engine.algorithms.hybrid import Hybrid, HybridConfig
from relevo.engine.algorithms.item_knn import ItemKNN
from relevo.engine.algorithms.popular import Popular
from relevo.engine.base import Recommender
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from relevo.engine.events import PURCHASE_TYPES, indicator, left_out_matrix
from tests.engine.shop_data import small_shop

SMALL = {"als": {"embedding_dim": 16, "epochs": 5}, "content": {"clusters": 5}}
MODES = {"every item": {}, "candidates": {"exhaustive_items": 0, "candidates": 20}}


@cache
def hybrid(mode: str) -> Hybrid:
    return Hybrid(HybridConfig(components=SMALL, **MODES[mode])).fit(small_shop(), seed=3)


def asked(model: Recommender) -> dict:
    """A realistic request for three users: two known, one new; events since training, a
    purchase among them, an explicit exclusion and a catalog filter."""
    items = model.items.ids
    allowed = np.ones(len(items), dtype=bool)
    allowed[::7] = False
    return {
        "users": [*model.users.ids[:2].tolist(), "stranger"],
        "recent": [{items[3]: 1.0}, {}, {items[5]: 8.0, items[8]: 2.0}],
        "purchases": [[], [], [items[5]]],
        "exclude": [[items[10]], [], []],
        "allowed": allowed,
    }


@pytest.mark.parametrize("mode", MODES)
def test_recording_the_parts_changes_no_answer_alone_or_in_a_batch(mode: str) -> None:
    model, request = hybrid(mode), asked(hybrid(mode))
    batch = model.recommend(**request, k=10)
    explained = explain.recommend_explained(model, **request, k=10)
    np.testing.assert_array_equal(explained.ids, batch.ids)
    np.testing.assert_array_equal(explained.scores, batch.scores)
    for row, user in enumerate(request["users"]):
        alone = {name: [value[row]] for name, value in request.items() if name not in ("users", "allowed")}
        single = model.recommend(user, 10, allowed=request["allowed"], **alone)
        explained = explain.recommend_explained(model, user, 10, allowed=request["allowed"], **alone)
        np.testing.assert_array_equal(explained.ids, single.ids)
        np.testing.assert_array_equal(explained.scores, single.scores)


@pytest.mark.parametrize("mode", MODES)
def test_the_parts_sum_to_each_items_score(mode: str) -> None:
    model = hybrid(mode)
    explained = explain.recommend_explained(model, **asked(model), k=10)
    assert explained.names == tuple(model.components)
    filled = explained.ids != ""
    assert filled.sum() == 30
    np.testing.assert_allclose(explained.parts.sum(axis=-1)[filled], explained.scores[filled], rtol=1e-6, atol=1e-6)
    assert np.isnan(explained.parts[~filled]).all()
    # The top component is the largest part, and for_user says the same.
    largest = np.asarray(explained.names)[np.argmax(explained.parts, axis=-1)]
    np.testing.assert_array_equal(explained.top[filled], largest[filled])
    reasons = explained.for_user(2)
    assert [reason.item for reason in reasons] == explained.ids[2][filled[2]].tolist()
    first = reasons[0]
    assert sum(first.parts.values()) == pytest.approx(first.score, rel=1e-6)
    assert first.component == max(first.parts, key=first.parts.get)


@pytest.mark.parametrize("mode", MODES)
def test_the_parts_of_a_list_given_are_those_recorded_when_it_was_ranked(mode: str) -> None:
    model, request = hybrid(mode), asked(hybrid(mode))
    explained = explain.recommend_explained(model, **request, k=10)
    indices, options = model.indexed(request["users"], recent=request["recent"], purchases=request["purchases"])
    items = np.where(explained.ids != "", model.items.indices(explained.ids.ravel().tolist()).reshape(3, 10), -1)

    parts = explain.item_parts(
        model,
        indices,
        items,
        histories=options["histories"],
        allowed=request["allowed"],
        purchases=options["purchases"],
    )

    np.testing.assert_array_equal(parts, explained.parts)


def test_a_model_that_is_not_a_hybrid_has_one_part_its_own_score() -> None:
    model = ItemKNN().fit(small_shop())
    explained = explain.recommend_explained(model, **asked(model), k=10)
    assert explained.names == ("item_knn",)
    filled = explained.ids != ""
    np.testing.assert_array_equal(explained.parts[..., 0][filled], explained.scores[filled])
    assert set(explained.top[filled].tolist()) == {"item_knn"}


@pytest.mark.parametrize("mode", MODES)
def test_sources_are_the_users_own_history_items_request_time_ones_included(mode: str) -> None:
    model = hybrid(mode)
    request = asked(model)
    explained = explain.recommend_explained(model, **request, k=10)
    for row, user in enumerate(request["users"]):
        index = model.users.index(user)
        trained = set(model.items.lookup(model.history[index].indices).tolist()) if index >= 0 else set()
        history = trained | set(request["recent"][row])
        found = {source for source in explained.sources[row].tolist() if source}
        assert found and found <= history
        assert all(reason.source is None for reason in explained.for_user(row) if reason.component == "popular")
    recent_only = set(request["recent"][2])
    assert {source for source in explained.sources[2].tolist() if source} <= recent_only  # the stranger's


@pytest.mark.parametrize("mode", MODES)
def test_reasons_of_lists_ranked_ahead_equal_those_of_one_user_at_a_time(mode: str) -> None:
    model = hybrid(mode)
    users = np.arange(40, dtype=np.int32)
    left_out = left_out_matrix(small_shop().events)
    items, _ = model.recommend_indices(
        users, 20, histories=model.histories(users), exclude_history=False, excluded=left_out[users]
    )
    reasons = explain.list_reasons(model, items, users=users)
    assert reasons.top.dtype == np.int8 and reasons.sources.dtype == np.int32
    for user in users.tolist():
        one = np.array([user], dtype=np.int32)
        single = explain.explain_indices(
            model, one, 20, histories=model.histories(one), exclude_history=False, excluded=left_out[one]
        )
        np.testing.assert_array_equal(single.items[0], items[user])
        np.testing.assert_array_equal(single.top[0], reasons.top[user])
        np.testing.assert_array_equal(single.sources[0], reasons.sources[user])
    assert (reasons.top[items >= 0] >= 0).all() and (reasons.top[items < 0] == explain.NO_PART).all()


def test_reasons_of_lists_from_a_model_that_is_not_a_hybrid() -> None:
    model = EASE().fit(small_shop())
    users = np.arange(len(model.users), dtype=np.int32)
    items, _ = model.recommend_indices(users, 10, histories=model.histories(users))
    reasons = explain.list_reasons(model, items)
    assert (reasons.top == explain.PART_CODES["ease"]).all()
    single = explain.explain_indices(model, users[:5], 10, histories=model.histories(users[:5]))
    np.testing.assert_array_equal(single.sources, reasons.sources[:5])


def test_explaining_on_several_threads_answers_as_on_one() -> None:
    model = hybrid("candidates")
    users = np.arange(len(model.users), dtype=np.int32)
    options = {"histories": model.histories(users)}
    one = explain.explain_indices(model, users, 10, **options)
    two = explain.explain_indices(model, users, 10, **options, threads=2)
    for name in ("items", "scores", "parts", "top", "sources"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


# Each kind of component's source against a plain computation, on a shop small enough to read.

PURCHASES = {"u1": "ab", "u2": "ac", "u3": "bc", "u4": "f", "u5": "ef", "u6": "a"}
VIEWS = {"u1": "c", "u2": "d", "u3": "e", "u4": "de", "u5": "g", "u6": "gh"}
DESCRIPTIONS = {
    "a": ("phones", "black phone case"),
    "b": ("phones", "phone charger cable"),
    "c": ("phones > cables", "long charger cable"),
    "d": ("garden", "green garden hose"),
    "e": ("garden > tools", "garden shears"),
    "f": ("garden > tools", "steel shears and rake"),
    "g": ("kitchen", "steel kitchen knife"),
    "h": ("kitchen", "black kitchen apron"),
}


def tiny_shop() -> TrainingData:
    events = [(user, item, "purchase") for user, items in PURCHASES.items() for item in items]
    events += [(user, item, "view") for user, items in VIEWS.items() for item in items]
    users, items, kinds = zip(*events, strict=True)
    log = EventLog.from_columns(users, items, kinds, list(range(len(events))))
    records = {item: {"category": category, "text": text} for item, (category, text) in DESCRIPTIONS.items()}
    return TrainingData(log, ItemCatalog.from_records(log.items, records))


KINDS = {
    "item_knn": lambda: ItemKNN(),
    "ease": lambda: EASE(EASE.make_config({"l2": 1.0})),
    "content": lambda: Content(Content.make_config({"clusters": 2})),
    "cooccurrence": lambda: Cooccurrence(),
    "als": lambda: ALS(ALS.make_config({"embedding_dim": 4, "epochs": 10})),
    "bpr": lambda: BPR(BPR.make_config({"embedding_dim": 4, "epochs": 30})),
}


def reference_terms(kind: str, model: Recommender, weights: np.ndarray, item: int) -> np.ndarray:
    """What each item of a user's history (dense weights, one per item) says for `item`, by
    the plain definitions, one history item at a time."""
    terms = np.full(len(weights), -np.inf)
    for history in np.flatnonzero(weights).tolist():
        if history == item:  # an item is never its own source
            continue
        w = float(weights[history])
        if kind == "item_knn":
            terms[history] = w * model.similarity.toarray()[history, item]
        elif kind == "ease":
            terms[history] = w * model.weights[history, item]
        elif kind == "content":
            vectors = model.vectors.toarray()
            terms[history] = w * vectors[history] @ vectors[item]
        elif kind == "cooccurrence":
            terms[history] = model.together.toarray()[history, item]
        else:
            factors = model.item_factors[:, :-1] if kind == "bpr" else model.item_factors
            a, b = factors[history], factors[item]
            terms[history] = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return terms


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_component_names_the_history_item_a_plain_computation_names(kind: str) -> None:
    data = tiny_shop()
    model = KINDS[kind]().fit(data, seed=1)
    users = np.append(model.users.indices(list(PURCHASES)), -1)  # and a stranger, new events only
    histories = model.histories(users, [*[{}] * len(PURCHASES), {"c": 1.0, "e": 8.0, "g": 2.0}])
    purchases = sp.csr_matrix(([1.0], ([len(PURCHASES)], [model.items.index("e")])), shape=histories.shape)
    items = np.tile(np.arange(len(model.items), dtype=np.int32), (len(users), 1))
    top = np.full(items.shape, explain.PART_CODES[kind], dtype=np.int8)
    found = explain.sources(model, users, histories, items, top, purchases=purchases.astype(np.float32))

    bought = indicator(data.events, PURCHASE_TYPES).toarray()
    bought = np.vstack([bought, purchases.toarray()[-1:]])  # the stranger bought e since training
    named = 0
    for row in range(len(users)):
        weights = bought[row] if kind == "cooccurrence" else histories[row].toarray().ravel()
        for item in range(len(model.items)):
            terms = reference_terms(kind, model, weights, item)
            source = found[row, item]
            if terms.max() <= 1e-6:
                assert source == -1, (row, item)
                continue
            assert source >= 0 and weights[source] > 0, (row, item)
            assert terms[source] == pytest.approx(terms.max(), rel=1e-5), (row, item)  # the argmax, or tied with it
            named += 1
    assert named >= len(model.items)
    assert set(np.unique(found[-1][found[-1] >= 0]).tolist()) <= set(
        model.items.indices(["e"] if kind == "cooccurrence" else ["c", "e", "g"]).tolist()
    )


def test_popularity_names_no_source() -> None:
    model = Popular().fit(tiny_shop())
    users = model.users.indices(["u1"])
    items = np.arange(len(model.items), dtype=np.int32)[np.newaxis, :]
    top = np.full(items.shape, explain.PART_CODES["popular"], dtype=np.int8)
    assert (explain.sources(model, users, model.histories(users), items, top) == -1).all()


@pytest.mark.parametrize("mode", MODES)
def test_an_item_the_user_touched_is_never_its_own_source(mode: str) -> None:
    model = hybrid(mode)
    users = model.users.ids[:20].tolist()
    explained = explain.recommend_explained(model, users, 10, exclude_history=False)

    touched = explained.ids[np.isin(explained.ids, explained.sources)]
    assert len(touched) > 0  # some items were the source of others
    assert not (explained.ids == explained.sources).any()
