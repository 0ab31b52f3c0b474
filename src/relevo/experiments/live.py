"""The experiments serving now, as each server process keeps them: looked at again every
RELEVO_EXPERIMENTS_REFRESH_SECONDS (1), so a start, a pause or a stop reaches every process
within about that, and the user's variant found without a query (experiments/assignment.py)."""

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.experiments import service
from relevo.experiments.assignment import BUCKETS, bucket, thresholds, variant_of
from relevo.experiments.service import Target

_SHARED_OUT = "relevo: experiments serving at once"  # the salt that shares users out among them


@dataclass(frozen=True)
class LiveExperiment:
    id: str
    kind: str
    salt: str
    bounds: tuple[tuple[int, str], ...]  # assignment.thresholds of its allocation
    targets: dict[str, Target]  # what serves each variant
    variants: tuple[str, ...]  # in the order they were given


@dataclass(frozen=True)
class Assignment:
    experiment: LiveExperiment
    variant: str  # the user's variant (for interleaving: the first ranker's name)


class LiveExperiments:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._database, self._settings = database, settings
        self._refresh_seconds = settings.experiments_refresh_seconds
        self._live: tuple[LiveExperiment, ...] = ()
        self._read = -float("inf")
        self._lock = threading.Lock()

    def needs_refresh(self) -> bool:
        return time.monotonic() - self._read >= self._refresh_seconds

    def refresh(self) -> None:
        """Reads the experiments that serve now and what serves their variants (those whose
        variants cannot all be served yet, say a model still training, serve nobody). Blocks."""
        with self._lock, self._database.session(write=False) as session:
            live = []
            for experiment in service.running(session=session, now=utcnow()):
                resolution = service.resolve(session=session, settings=self._settings, experiment=experiment)
                if resolution.blockers:
                    continue
                names = tuple(variant["name"] for variant in experiment.variants)
                live.append(
                    LiveExperiment(
                        id=experiment.id,
                        kind=experiment.kind,
                        salt=experiment.salt,
                        bounds=tuple(thresholds([(name, experiment.allocation[name]) for name in names])),
                        targets=resolution.serves,
                        variants=names,
                    )
                )
            self._live, self._read = tuple(live), time.monotonic()

    def assign(self, user_id: str) -> Assignment | None:
        """The user's experiment and variant; None when no experiment serves. Each experiment
        takes all users (its shares sum to 1); while several serve, an answer can come from one
        only, so the users are shared out among them by a hash of their own, and each
        experiment's variants by its own salt, independently of the others."""
        live: Sequence[LiveExperiment] = self._live
        if not live:
            return None
        experiment = live[0] if len(live) == 1 else live[bucket(_SHARED_OUT, user_id) * len(live) // BUCKETS]
        return Assignment(experiment, variant_of(experiment.bounds, experiment.salt, user_id))
