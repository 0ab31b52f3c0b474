"""EASE: the contract, the closed form's zero diagonal, and the catalog size it refuses."""

import numpy as np
import pytest

from relevo.engine.algorithms.ease import EASE, EASEConfig
from tests.engine.contract import RecommenderContract
from tests.engine.shop_data import small_shop


class TestEASEContract(RecommenderContract):
    def make(self) -> EASE:
        return EASE()


class TestEDLAEContract(RecommenderContract):
    def make(self) -> EASE:
        return EASE(EASEConfig(dropout=0.25))


def test_an_item_never_predicts_itself() -> None:
    model = EASE(EASEConfig(l2=50.0)).fit(small_shop())
    assert np.all(np.diag(model.weights) == 0)
    assert np.abs(model.weights).sum() > 0


def test_a_catalog_over_max_items_is_refused() -> None:
    with pytest.raises(ValueError, match="max_items"):
        EASE(EASEConfig(max_items=10)).fit(small_shop())


@pytest.mark.parametrize(("values", "problem"), [({"dropout": 1.0}, "dropout"), ({"l2": 0}, "l2")])
def test_settings_out_of_range_are_refused(values: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        EASE.make_config(values)
