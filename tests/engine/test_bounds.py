"""The settings that size a training's work have upper bounds, refused with the field named
(dotted inside a hybrid's components), and docs/api.md lists every one."""

from pathlib import Path
from typing import Any

import pytest

from relevo.engine.algorithms import ALGORITHMS, recommender_class
from relevo.engine.bounds import ConfigError, bounds_of

API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.mark.parametrize(
    ("algorithm", "settings", "message"),
    [
        ("als", {"epochs": 1001}, "epochs: at most 1000"),
        ("als", {"embedding_dim": 4096}, "embedding_dim: at most 1024"),
        ("als", {"epochs": 0}, "epochs: at least 1"),
        ("als", {"alpha": 0}, "alpha: must be above 0"),
        ("als", {"epochs": 2.5}, "epochs: must be a whole number"),
        ("als", {"regularization": float("nan")}, "regularization: must be a finite number"),
        ("als", {"embedding_dim": "64"}, "embedding_dim: must be a finite number"),
        ("bpr", {"epochs": 100_000}, "epochs: at most 1000"),
        ("bpr", {"learning_rate": float("inf")}, "learning_rate: must be a finite number"),
        ("item_knn", {"neighbours": 5000}, "neighbours: at most 1000"),
        ("ease", {"max_items": 1_000_000}, "max_items: at most 50000"),
        ("ease", {"dropout": 1.0}, "dropout: must be below 1"),
        ("content", {"clusters": 5000}, "clusters: at most 1000"),
        ("content", {"max_terms": 10**7}, "max_terms: at most 200000"),
        ("popular", {"kind": "weekly"}, "kind: must be 'global' or 'trending'"),
        ("hybrid", {"candidates": 100_000}, "candidates: at most 10000"),
        ("hybrid", {"components": {"als": {"epochs": 5000}}}, "components.als.epochs: at most 1000"),
        ("hybrid", {"weights": {"als": -1}}, "weights.als: must be a finite number, not negative"),
        ("hybrid", {"weights": [1, 2]}, "weights: must be an object"),
    ],
)
def test_a_setting_out_of_its_bounds_is_refused_by_name(algorithm: str, settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        recommender_class(algorithm).make_config(settings)
    assert str(refused.value).startswith(message), str(refused.value)
    assert str(refused.value).startswith(f"{refused.value.field}: ")


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_the_defaults_and_the_bounds_themselves_are_accepted(algorithm: str) -> None:
    cls = recommender_class(algorithm)
    cls.make_config({})
    for name, (at_least, _, at_most) in bounds_of(cls.Config).items():
        for value in (at_least, at_most):
            if value is not None:
                cls.make_config({name: value})


def test_the_api_docs_list_every_upper_bound() -> None:
    lines = API_DOCS.read_text(encoding="utf-8").splitlines()
    for algorithm, cls in sorted(ALGORITHMS.items()):
        for name, (_, _, at_most) in bounds_of(cls.Config).items():
            if at_most is None:
                continue
            row = [line for line in lines if f"`{name}`" in line and f"`{algorithm}`" in line]
            assert row and f"{at_most:g}" in row[0].replace(",", ""), f"{algorithm}.{name} (at most {at_most:g})"
