"""The content / category model: the contract, and that it matches by category first, then
text, places products it never saw, and survives a save and load unchanged."""

from pathlib import Path

import numpy as np
import pytest

from relevo.engine import artifacts
from relevo.engine.algorithms.content import Content, ContentConfig
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from relevo.engine.vocab import Vocabulary
from tests.engine.contract import RecommenderContract

NOW = 1_700_000_000


class TestContentContract(RecommenderContract):
    def make(self) -> Content:
        return Content()


class TestContentWithPopularityContract(RecommenderContract):
    def make(self) -> Content:
        return Content(ContentConfig(popularity_weight=0.3))


CATALOG = {
    "knife-1": ("Home > Kitchen > Knives", "Chef knife, forged steel blade"),
    "knife-2": ("Home > Kitchen > Knives", "Small paring tool, wooden handle"),
    "pan": ("Home > Kitchen > Cookware", "Cast iron frying pan"),
    "tent": ("Sports > Outdoor > Tents", "Two person tent, steel poles"),
    "novel-1": ("Books > Fiction > Novels", "A mystery novel set in Paris"),
    "novel-2": ("Books > Fiction > Novels", "A long family saga novel"),
    "stories": ("Books > Fiction > Short Stories", "Short stories about the sea"),
}


def training(views: list[tuple[str, str]], catalog: dict[str, tuple[str, str]] = CATALOG) -> TrainingData:
    """Every catalog item is known; `views` are (user, item) pairs."""
    items = Vocabulary(catalog)
    users, viewed = zip(*views, strict=True)
    log = EventLog.from_columns(users, viewed, ["view"] * len(views), [NOW] * len(views), items=items)
    records = {item: {"category": category, "text": text} for item, (category, text) in catalog.items()}
    return TrainingData(log, ItemCatalog.from_records(items, records), now=NOW)


VIEWS = [("cook", "knife-1"), ("reader", "novel-1"), ("reader", "novel-2"), ("fan", "novel-2"), ("camper", "tent")]


def test_a_user_gets_what_resembles_their_history() -> None:
    model = Content().fit(training(VIEWS))
    ids, _ = model.recommend("cook", 3).for_user()
    assert ids == ["knife-2", "pan", "tent"]  # same leaf, same department, then a shared word
    assert model.recommend("reader", 1).for_user()[0] == ["stories"]
    assert model.recommend("cook", 2, recent=[{"novel-1": 8.0}]).for_user()[0][0] in {"novel-2", "stories"}


def test_popularity_can_order_items_that_look_alike() -> None:
    # novel-1 and novel-2 are as like stories as each other's; novel-2 has two viewers.
    views = [*VIEWS, ("browser", "stories")]
    ids, scores = Content().fit(training(views)).recommend("browser", 2).for_user()
    assert set(ids) == {"novel-1", "novel-2"} and scores[0] == pytest.approx(scores[1])
    weighted = Content(ContentConfig(popularity_weight=0.3)).fit(training(views))
    assert weighted.recommend("browser", 1).for_user()[0] == ["novel-2"]
    assert weighted.recommend("stranger", 1).for_user()[0] == ["novel-2"]  # no history: the popular


def test_the_category_weighs_more_than_the_text() -> None:
    # knife-1 shares its category with knife-2 and the word "steel" with the tent.
    assert Content().fit(training(VIEWS)).similar_items("knife-1", 1)[0].tolist() == ["knife-2"]
    text_only = Content(ContentConfig(category_weight=0.0)).fit(training(VIEWS))
    assert text_only.similar_items("knife-1", 1)[0].tolist() == ["tent"]


def test_a_new_product_is_placed_among_its_kind() -> None:
    model = Content().fit(training(VIEWS))
    ids, scores = model.similar_to("Home > Kitchen > Knives", "Bread knife", k=3)
    assert set(ids[:2].tolist()) == {"knife-1", "knife-2"} and ids[2] == "pan"
    assert scores.tolist() == sorted(scores.tolist(), reverse=True)
    assert model.similar_to("Garden > Hoses", "green hose")[0].tolist() == []  # nothing alike


def test_clusters_group_categories_and_list_the_popular_first() -> None:
    model = Content(ContentConfig(clusters=3)).fit(training(VIEWS), seed=1)
    books = model.cluster_of("Books > Fiction > Novels", "a new novel")
    assert model.cluster_of("Books > Fiction") == books
    ids, scores = model.cluster_items(books, k=10)
    assert set(ids.tolist()) == {"novel-1", "novel-2", "stories"}
    assert ids[0] == "novel-2" and scores[0] == 1.0  # viewed by two users
    assert model.cluster_of("Home > Kitchen > Cookware", "a pan") != books
    assert model.cluster_items(99)[0].tolist() == []


def test_fewer_items_than_clusters_is_fine() -> None:
    model = Content(ContentConfig(clusters=20)).fit(training(VIEWS))
    assert model.centres.shape[0] == len(CATALOG)


def test_a_catalog_without_descriptions_gives_zeros_not_errors() -> None:
    blank = dict.fromkeys(CATALOG, ("", ""))
    model = Content().fit(training(VIEWS, blank))
    _, scores = model.recommend("cook", 3).for_user()
    assert scores == [0.0, 0.0, 0.0]
    assert model.similar_to("Home", "knife")[0].tolist() == []
    assert model.cluster_of("Home", "knife") == 0


def test_new_products_are_placed_the_same_after_loading(tmp_path: Path) -> None:
    model = Content(ContentConfig(clusters=3)).fit(training(VIEWS), seed=5)
    artifacts.save(model, tmp_path)
    loaded, _ = artifacts.load(tmp_path)
    before, after = (
        model.similar_to("Home > Kitchen", "steel knife"),
        loaded.similar_to("Home > Kitchen", "steel knife"),
    )
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert loaded.cluster_of("Books", "novel") == model.cluster_of("Books", "novel")
    stored = np.load(tmp_path / artifacts.ARRAYS, allow_pickle=False)
    assert stored["state.text.terms"].dtype.kind == "U"
