"""What the tests with real worker or scheduler processes share: a committed demo shop (those
processes cannot see a test's rolled-back transaction) with a deployed popularity model."""

from relevo import migrations
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.demo import load_demo
from relevo.job_kinds import HANDLERS
from relevo.jobs import runner
from relevo.registry import service as registry_service
from tests.recommend.shop import SIZE


def load_trained_shop(settings: Settings) -> None:
    """Migrates the database of `settings`, loads the demo shop and deploys a first model."""
    database = Database(settings.database_url)
    migrations.upgrade(database.engine)
    with database.transaction() as session:
        load_demo(session=session, size=SIZE)
        _, job = registry_service.start_training(
            session=session,
            settings=settings,
            name="default",
            algorithm="popular",
            config={},
            params={"deploy": "always"},
            created_by=None,
        )
    runner.run(database, settings, job.id, handlers=HANDLERS)
    database.dispose()
