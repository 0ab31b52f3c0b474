"""What every training job does the same way, whatever it fits: report progress to its job
(stopping when asked), write the version's files into a staging folder the store then takes
in, and leave alone a version a resumed job finds already done."""

import tempfile
from collections.abc import Callable
from pathlib import Path

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import RelevoError
from relevo.jobs import service as jobs_service
from relevo.jobs.control import Control
from relevo.registry.models import ModelVersion, VersionStatus


def reporter(database: Database, control: Control, job_id: str) -> Callable[[str, float], None]:
    """report(message, done): tells the job how far the training is; raises if it must stop."""

    def report(message: str, done: float) -> None:
        control.report(message, done)
        with database.transaction() as session:
            jobs_service.progress(session=session, job_id=job_id, message=message)

    return report


def staging_folder(settings: Settings) -> Path:
    """An empty folder for the version's files, beside the store (the caller removes it)."""
    settings.resolved_artifacts_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".training-", dir=settings.resolved_artifacts_dir))


def trained_before(version: ModelVersion) -> ModelVersion:
    """A job resumed after its process died once its version was already done (before the job
    was marked so): nothing is trained again."""
    if version.status == VersionStatus.failed:
        raise RelevoError(version.error or f"version {version.version} of {version.name!r} failed")
    return version
