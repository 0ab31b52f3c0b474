"""The client's copies of the server's answers (kept to spare it the server's imports) have
the same fields as the originals, so a field added on the server fails here, not in a shop."""

import pytest
from pydantic import BaseModel

from relevo.client import schemas as copies
from relevo.jobs import schemas as jobs
from relevo.recommend import schemas as recommend
from relevo.registry import schemas as registry

PAIRS = [
    (copies.UserRecommendations, recommend.UserRecommendations),
    (copies.RecommendedForUser, recommend.RecommendedForUser),
    (copies.RecommendedProduct, recommend.RecommendedProduct),
    (copies.PopularProduct, recommend.PopularProduct),
    (copies.ServedModelRead, recommend.ServedModelRead),
    (copies.ExperimentServed, recommend.ExperimentServed),
    (copies.TrainRequest, registry.TrainRequest),
    (copies.TrainingStarted, registry.TrainingStarted),
    (copies.ModelVersionRead, registry.ModelVersionRead),
    (copies.ModelSummary, registry.ModelSummary),
    (copies.JobRead, jobs.JobRead),
]


def fields(model: type[BaseModel]) -> dict[str, bool]:
    return {name: field.is_required() for name, field in model.model_fields.items()}


@pytest.mark.parametrize(("copy", "original"), PAIRS, ids=[copy.__name__ for copy, _ in PAIRS])
def test_a_copy_has_the_fields_of_the_servers_schema(copy: type[BaseModel], original: type[BaseModel]) -> None:
    assert fields(copy) == fields(original)
