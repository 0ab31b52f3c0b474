"""Request and response bodies of the models API."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from relevo.core.fields import DbId, JsonObject, UtcDateTime
from relevo.registry.models import ModelVersion

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
