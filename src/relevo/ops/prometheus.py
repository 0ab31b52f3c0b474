"""What /metrics reads from the database when it is scraped: jobs by kind and status, and the
deployed version of each model. Read by the one process answering the scrape, never counted
by each process, so the figures are the database's whatever the number of processes."""

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from relevo.core.db import Database
from relevo.jobs import service as jobs_service
from relevo.jobs.models import JobKind, JobStatus
from relevo.registry import service as registry_service

logger = logging.getLogger("relevo.ops")


class DatabaseFigures:
    """A Prometheus collector (anything with `collect`) of the figures the database holds."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def collect(self) -> Iterator[Metric]:
        try:
            with self._database.session(write=False) as session:
                jobs = jobs_service.count_by_kind_and_status(session=session)
                deployed = registry_service.deployed_versions(session=session)
        except SQLAlchemyError as exc:  # the rest of the scrape still answers; /ready/ says why
            logger.warning("/metrics could not read jobs and models from the database: %s", exc)
            return
        by_status = GaugeMetricFamily(
            "relevo_jobs", "Jobs in the database, by kind and status", labels=["kind", "status"]
        )
        # Every known kind and status, so that a series drops to 0 rather than vanishing.
        kinds = sorted({*JobKind, *(kind for kind, _ in jobs)})
        for kind in kinds:
            for status in JobStatus:
                by_status.add_metric([kind, status], jobs.get((kind, status), 0))
        yield by_status
        versions = GaugeMetricFamily(
            "relevo_model_deployed_version", "The deployed version number of each model", labels=["model"]
        )
        for name, number in sorted(deployed.items()):
            versions.add_metric([name], number)
        yield versions
