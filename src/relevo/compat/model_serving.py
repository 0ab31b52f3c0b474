"""The model-serving API: login, with the credentials in a JSON or form body, or in the query
string as its clients send them; and inference for a customer as of a purchase date."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from relevo.accounts import service as accounts_service
from relevo.api.deps import LimitedRoute, PredictorsDep, ReaderCaller, SessionDep, SettingsDep
from relevo.core.fields import ExternalId, Text
from relevo.customers.schemas import AsOfDate
from relevo.inference import service as inference_service

router = APIRouter(tags=["model-serving API"], route_class=LimitedRoute)

_JSON = "application/json"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class Credentials(BaseModel):
    username: Text = Field(min_length=1, max_length=150)
    password: Text = Field(min_length=1, max_length=200)


class LoginToken(BaseModel):
    access_token: str
    token_type: str = "bearer"


_CREDENTIALS_SCHEMA = Credentials.model_json_schema()
_QUERY_NOTE = "The model-serving API's way; prefer the body, since query strings are kept in logs and browser histories"


async def credentials(
    request: Request,
    username: Annotated[str | None, Query(deprecated=True, description=_QUERY_NOTE)] = None,
    password: Annotated[str | None, Query(deprecated=True, description=_QUERY_NOTE)] = None,
) -> Credentials:
    """The credentials from the body when it is JSON or a form, otherwise (no body, or an empty
    one, as some clients send with the query string) from the query string; 422 naming each
    missing or bad field, 400 for a body that is not JSON."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    has_body = bool((await request.body()).strip())
    given: Any
    if media_type == _JSON and has_body:
        where = "body"
        try:
            given = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            error = {"type": "json_invalid", "loc": (where,), "msg": "JSON decode error", "ctx": {"error": str(exc)}}
            raise RequestValidationError([error]) from None
    elif media_type in _FORMS and has_body:
        where = "body"
        given = {name: value for name, value in (await request.form()).items() if isinstance(value, str)}
    else:
        where = "query"
        given = {name: value for name, value in (("username", username), ("password", password)) if value is not None}
    try:
        return Credentials.model_validate(given)
    except ValidationError as exc:
        errors = [{**error, "loc": (where, *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


@router.post(
    "/login",
    response_model=LoginToken,
    openapi_extra={
        "requestBody": {
            "required": False,
            "description": "The credentials, as JSON or a form "
            "(or, for the model-serving API's clients, in the query string)",
            "content": {_JSON: {"schema": _CREDENTIALS_SCHEMA}, _FORMS[0]: {"schema": _CREDENTIALS_SCHEMA}},
        }
    },
    responses={401: {"description": "Wrong username or password"}},
)
def login(
    given: Annotated[Credentials, Depends(credentials)], session: SessionDep, settings: SettingsDep
) -> LoginToken:
    account = accounts_service.authenticate_password(session=session, username=given.username, password=given.password)
    return LoginToken(access_token=accounts_service.issue_access_token(account=account, settings=settings))


class Prediction(BaseModel):
    prediction: float


@router.get(
    "/inference",
    response_model=Prediction,
    responses={
        404: {"description": "No such model, version or customer"},
        409: {"description": "The version is not a predictor, or Relevo cannot build its inputs or run it"},
    },
)
def infer(
    model_name: Annotated[str, Query(min_length=1, max_length=100, description="The model's name")],
    customer_id: Annotated[ExternalId, Query(description="The shop's id of the customer (an integer or text)")],
    purchase_date_id: Annotated[AsOfDate, Query(description="The date predicted from, YYYY-MM-DD or YYYYMMDD")],
    _: ReaderCaller,
    session: SessionDep,
    settings: SettingsDep,
    predictors: PredictorsDep,
    model_version: Annotated[
        str | None, Query(max_length=100, description="A version number or an alias; the deployed one if omitted")
    ] = None,
) -> Prediction:
    """The model's prediction for the customer from the customer features of their purchases
    before the date (docs/registry.md, "Inference")."""
    value = inference_service.predict_one(
        session=session,
        settings=settings,
        predictors_loaded=predictors,
        name=model_name,
        version=model_version,
        customer=customer_id,
        as_of=purchase_date_id,
    )
    return Prediction(prediction=value)
