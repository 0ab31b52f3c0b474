"""The model-serving API: login, with the credentials in a JSON or form body, or in the query
string as its clients send them; uploading a model into the registry and reading it back; and
inference for a customer as of a purchase date."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from relevo.accounts import service as accounts_service
from relevo.api.deps import LimitedRoute, ModelManager, PredictorsDep, ReaderCaller, SessionDep, SettingsDep
from relevo.core.fields import ExternalId, Text
from relevo.customers.schemas import AsOfDate
from relevo.inference import service as inference_service
from relevo.registry import listing, uploads
from relevo.registry import service as registry_service
from relevo.registry.models import VersionStatus
from relevo.registry.schemas import MODEL_NAME, ModelVersionDetails, RegistryFileRead, UploadedModel

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


ModelName = Annotated[str, Query(pattern=MODEL_NAME, description="Letters, digits, _ . -")]
_VERSION_NOTE = "A whole number (Relevo numbers versions); the next one when left out"


def _uploaded(session: Session, details: listing.VersionDetails) -> UploadedModel:
    """The answer's paths are the names Relevo knows the files by (the store keeps them by hash):
    name/version/file, name/version/artifacts/file; a trained version's model path is its folder."""
    version = details.version
    model = registry_service.get_model(session=session, name=version.name)
    prefix = f"{version.name}/{version.version}"
    chosen = listing.model_file(details)
    return UploadedModel(
        model_id=model.id,
        model_version_id=version.id,
        model_path=prefix if chosen is None else f"{prefix}/{chosen.name}",
        artifact_paths=[f"{prefix}/{file.name}" for file in details.files if file.role != "model"],
        status="deployed" if version.status == VersionStatus.deployed else "registered",
    )


@router.post("/upload_model", response_model=UploadedModel, status_code=status.HTTP_201_CREATED)
def upload_model(
    model_name: ModelName,
    model_file: Annotated[UploadFile, File(description="The model: .onnx, .skops or .npz (docs/registry.md)")],
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    artifact_files: Annotated[list[UploadFile], File(description="Artifacts; config.json says what it is")] = (),
    model_description: Annotated[str | None, Query(max_length=10_000)] = None,
    model_version: Annotated[str | None, Query(max_length=20, description=_VERSION_NOTE)] = None,
    deployment: Annotated[bool, Query(description="Deploy it at once")] = False,
) -> UploadedModel:
    """Uploads a model and its artifacts into the registry as a new, immutable version (409 if
    that version exists). Pickle and joblib files are refused (415) unless
    RELEVO_ALLOW_PICKLE_MODELS=true, and then only admins may send them."""
    uploaded = uploads.register(
        session=session,
        settings=settings,
        caller=caller,
        name=model_name,
        number=uploads.version_number(model_version, field="model_version"),
        description=model_description,
        incoming=uploads.incoming(model_file, artifact_files),
        deploy=deployment,
    )
    return _uploaded(session, listing.details(session=session, version=uploaded))


@router.get(
    "/get_model",
    response_model=ModelVersionDetails,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "With download=true: the file"}},
)
def get_model(
    model_name: ModelName,
    _: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    model_version: Annotated[
        str | None, Query(max_length=64, description="A number or an alias; deployed if unset")
    ] = None,
    download: Annotated[bool, Query(description="Answer with the model file itself")] = False,
) -> ModelVersionDetails | FileResponse:
    """A version's description; with download=true, its model file, checked against its SHA-256."""
    details = listing.version_or_raise(session=session, name=model_name, reference=model_version)
    if download:
        chosen, path = listing.download(settings=settings, version=details, file_name=None)
        return FileResponse(path, filename=chosen.name, headers={"X-Content-SHA256": chosen.sha256})
    uploaded, version = _uploaded(session, details), details.version
    model = registry_service.get_model(session=session, name=version.name)
    chosen = listing.model_file(details)
    return ModelVersionDetails(
        **uploaded.model_dump(),
        model_name=version.name,
        model_description=version.description or model.description,
        model_version=version.version,
        format=version.format,
        kind=version.kind,
        source=version.source,
        sha256=None if chosen is None else chosen.sha256,
        files=[RegistryFileRead.from_model(file) for file in details.files],
        created_at=version.created_at,
        deployed_at=version.deployed_at,
    )


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
