"""Routes of inference in the registry's API: predictions for many customers at once."""

from typing import Annotated

from fastapi import APIRouter, Path

from relevo.api.deps import LimitedRoute, PredictorsDep, ReaderCaller, SessionDep, SettingsDep
from relevo.inference import service
from relevo.inference.schemas import PredictionsRead, PredictRequest
from relevo.registry.schemas import MODEL_NAME

router = APIRouter(prefix="/api/v1/registry/models", tags=["registry"], route_class=LimitedRoute)
Name = Annotated[str, Path(pattern=MODEL_NAME, description="Letters, digits, _ . -")]
Version = Annotated[str, Path(max_length=64, description="A version number or an alias")]


@router.post(
    "/{name}/versions/{version}/predict",
    response_model=PredictionsRead,
    responses={
        404: {"description": "No such model or version"},
        409: {"description": "The version is not a predictor, or Relevo cannot build its inputs or run it"},
    },
)
def predict(
    name: Name,
    version: Version,
    body: PredictRequest,
    _: ReaderCaller,
    session: SessionDep,
    settings: SettingsDep,
    predictors: PredictorsDep,
) -> PredictionsRead:
    """The version's prediction for each customer from the customer features of their purchases
    before `as_of` (docs/registry.md, "Inference"); customers Relevo does not know are listed apart."""
    answer = service.predict(
        session=session,
        settings=settings,
        predictors_loaded=predictors,
        name=name,
        version=version,
        customers=body.customer_ids,
        as_of=body.as_of,
    )
    return PredictionsRead.from_predictions(answer)
