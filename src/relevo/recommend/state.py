"""What a process keeps in memory to answer recommendation requests, built in one place for
the API and for batch jobs: the deployed models, the catalog, users' events since training,
answers kept for the same question, the popular lists computed lately, the experiments
serving now and the shoppers erased."""

from dataclasses import dataclass, field

from relevo.core.caches import LockedCache
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.experiments.live import LiveExperiments
from relevo.recommend.answers import KeptAnswers
from relevo.recommend.catalog_view import CatalogView
from relevo.recommend.deployed import DeployedVersions
from relevo.recommend.erased import ErasedUsers
from relevo.recommend.user_events import EventsSinceTraining

_POPULAR_LISTS = 256  # (category, window, count) asked for lately
_POPULAR_SECONDS = 60.0  # a popular list is computed again after this long


@dataclass(frozen=True)
class ServingState:
    versions: DeployedVersions
    catalog: CatalogView
    events: EventsSinceTraining
    answers: KeptAnswers
    experiments: LiveExperiments
    erased: ErasedUsers
    popular: LockedCache = field(default_factory=lambda: LockedCache.ttl(_POPULAR_LISTS, _POPULAR_SECONDS))
    # What a request is refreshing right now (only touched on a server's event loop thread).
    refreshing: set = field(default_factory=set)

    @classmethod
    def open(cls, database: Database, settings: Settings, *, refresh_seconds: float | None = None) -> "ServingState":
        """The state for this database. `refresh_seconds`: how often models and the catalog are
        looked at again, if not as settings say (batch jobs look less often and keep no answers)."""
        batch = refresh_seconds is not None
        events = EventsSinceTraining(database)
        return cls(
            versions=DeployedVersions(
                database,
                settings,
                settings.model_refresh_seconds if refresh_seconds is None else refresh_seconds,
                settings.models_in_memory,
            ),
            catalog=CatalogView(
                database, settings.catalog_refresh_seconds if refresh_seconds is None else refresh_seconds
            ),
            events=events,
            answers=KeptAnswers(0 if batch else settings.answer_cache_size, settings.answer_cache_seconds),
            experiments=LiveExperiments(database, settings),
            erased=ErasedUsers(
                database, events, settings.experiments_refresh_seconds if refresh_seconds is None else refresh_seconds
            ),
        )
