"""Request and response bodies of the models API and the registry."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from relevo.core.fields import DbId, JsonObject, UtcDateTime
from relevo.registry.models import ModelFile, ModelVersion, RegistryChange

MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"  # also an artifact folder name: nothing else
MAX_SEED = 2**32 - 1  # the random generators the models use take 32-bit seeds


class TrainRequest(BaseModel):
    algorithm: str = Field(
        default="hybrid",
        description="hybrid, als, bpr, ease, item_knn, content, popular, ...; customer_spend (a predictor)",
    )
    config: JsonObject = Field(default_factory=dict, description="The algorithm's settings")
    dataset_ids: list[DbId] = Field(default_factory=list, description="Only these datasets' events; all if empty")
    deploy: Literal["gate", "always", "never"] = Field(
        default="gate",
        description="gate: deploy unless worse than the serving version beyond the noise, both judged on the "
        "same held-out events (the reason is in training.gate)",
    )
    evaluation: Literal["random", "temporal"] = "random"
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Fixes the held-out split and the fit")


class TrainingStarted(BaseModel):
    job_id: str
    status: str
    name: str
    version: int
    algorithm: str


class ModelVersionRead(BaseModel):
    name: str
    version: int
    algorithm: str
    status: str
    source: str = Field(description="trained (by Relevo) or uploaded")
    kind: str = Field(description="recommender (serves lists) or predictor (answers /inference)")
    format: str = Field(description="relevo, factors, onnx, skops, pickle or joblib")
    description: str | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    training: dict[str, Any] = Field(
        description="The data it saw and the time fits took; under `gate`, the deploy gate's verdict: metric, k, "
        "users compared, challenger and champion figures (champion_version), difference, standard_error, "
        "allowed_drop, threshold, deployed and reason"
    )
    watermark: int
    job_id: str | None
    error: str | None
    created_at: UtcDateTime
    trained_at: UtcDateTime | None
    deployed_at: UtcDateTime | None

    @classmethod
    def from_model(cls, version: ModelVersion) -> "ModelVersionRead":
        return cls(
            name=version.name,
            version=version.version,
            algorithm=version.algorithm,
            status=version.status,
            source=version.source,
            kind=version.kind,
            format=version.format,
            description=version.description,
            config=version.config,
            metrics=version.metrics,
            training=version.training,
            watermark=version.watermark,
            job_id=version.job_id,
            error=version.error,
            created_at=version.created_at,
            trained_at=version.trained_at,
            deployed_at=version.deployed_at,
        )


class ModelSummary(BaseModel):
    name: str
    versions: int
    deployed: ModelVersionRead | None


class RegistryFileRead(BaseModel):
    name: str = Field(description="model.onnx, artifacts/config.json, arrays.npz, ...")
    role: str = Field(description="model, artifact, or trained (written by a training)")
    sha256: str
    size: int

    @classmethod
    def from_model(cls, file: ModelFile) -> "RegistryFileRead":
        return cls(name=file.name, role=file.role, sha256=file.sha256, size=file.size)


class RegistryVersionRead(ModelVersionRead):
    id: int
    files: list[RegistryFileRead]
    aliases: list[str]

    @classmethod
    def of(cls, version: ModelVersion, files: list[ModelFile], aliases: list[str]) -> "RegistryVersionRead":
        return cls(
            **ModelVersionRead.from_model(version).model_dump(),
            id=version.id,
            files=[RegistryFileRead.from_model(file) for file in files],
            aliases=aliases,
        )


class RegisteredModelRead(BaseModel):
    id: int
    name: str
    description: str | None
    created_at: UtcDateTime
    versions: int
    latest_version: int | None
    deployed_version: int | None
    aliases: dict[str, int] = Field(description="Each alias and the version it points to")


class AliasUpdate(BaseModel):
    version: int = Field(ge=1, le=2**31 - 1, description="The version the alias points to from now on")


class AliasRead(BaseModel):
    name: str
    alias: str
    version: int
    updated_by: int | None
    updated_at: UtcDateTime


class RegistryChangeRead(BaseModel):
    id: int
    occurred_at: UtcDateTime
    account_id: int | None = Field(description="Who; null for Relevo itself (a training's deploy gate)")
    action: str = Field(description="upload, train, deploy, rollback, alias_set, alias_delete, archive or delete")
    name: str
    version: int | None
    details: dict[str, Any]

    @classmethod
    def from_model(cls, change: RegistryChange) -> "RegistryChangeRead":
        return cls(
            id=change.id,
            occurred_at=change.occurred_at,
            account_id=change.account_id,
            action=change.action,
            name=change.name,
            version=change.version,
            details=change.details,
        )


class UploadedModel(BaseModel):
    """The model-serving API's answer to an upload."""

    model_id: int
    model_version_id: int
    model_path: str
    artifact_paths: list[str]
    status: Literal["deployed", "registered"]


class ModelVersionDetails(UploadedModel):
    """The model-serving API's description of one version (GET /get_model)."""

    model_name: str
    model_description: str | None
    model_version: int
    format: str
    kind: str
    source: str
    sha256: str | None = Field(description="The model file's SHA-256 (null for a trained version: see files)")
    files: list[RegistryFileRead]
    created_at: UtcDateTime
    deployed_at: UtcDateTime | None
