"""The work behind each kind of job, as the processes that run jobs are handed it.

Jobs know no kind's work: training and batch generation build on jobs, not the other way
round. The process that runs jobs (a server, a worker, the command line) takes the table of
handlers from `relevo.job_kinds` and hands it to its executor and to the runner."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.jobs.control import Control

# A job's work: given the database, settings, the job's id and params, and its Control (to
# report progress and learn that it must stop), returns (message, result).
Work = Callable[[Database, Settings, str, dict[str, Any], Control], tuple[str, dict[str, Any]]]
# Ends what a job ending otherwise than by its work (cancelled, or given up after its processes
# kept dying) leaves unfinished, given the job's params and the reason; False if the work is
# done already (too late).
Abandon = Callable[[Session, dict[str, Any], str], bool]


@dataclass(frozen=True)
class Chunked:
    """Work that can be split into chunks of its items, each run on its own (Celery spreads
    them over every worker). `prepare` fixes the job's items and returns how many there are;
    `run_chunk` does the items [start, stop) that are not done yet (False if the job is no
    longer running); `outcome` is the finished job's message and result."""

    prepare: Callable[[Database, str, dict[str, Any]], int]
    run_chunk: Callable[[Database, Settings, str, int, int], bool]
    outcome: Callable[[Database, Settings, str], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class JobHandler:
    run: Work
    abandon: Abandon | None = None  # None: nothing is left unfinished (written results stay)
    chunked: Chunked | None = None


Handlers = Mapping[str, JobHandler]
