"""Imports every domain's ORM models, so the metadata (and Alembic) sees the whole schema."""

from relevo.accounts.models import Account, ApiKey, RateLimitQuota
from relevo.batch.models import JobResult
from relevo.catalog.models import Product, Store
from relevo.core.db import Base
from relevo.datasets.models import Dataset
from relevo.events.models import Event
from relevo.experiments.models import Experiment
from relevo.exposures.models import Exposure
from relevo.jobs.models import Job
from relevo.performance.models import RequestStatistic
from relevo.registry.models import ModelAlias, ModelFile, ModelVersion, RegisteredModel, RegistryChange
from relevo.users.models import User
from relevo.users.privacy_models import PrivacyRecord

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "Dataset",
    "Event",
    "Experiment",
    "Exposure",
    "Job",
    "JobResult",
    "ModelAlias",
    "ModelFile",
    "ModelVersion",
    "PrivacyRecord",
    "Product",
    "RateLimitQuota",
    "RegisteredModel",
    "RegistryChange",
    "RequestStatistic",
    "Store",
    "User",
]
