"""The work behind each kind of job: what every process that runs jobs (a server, a worker,
the command line) hands its executor. It sits above jobs, training and batch generation, which
build on jobs and not the other way round."""

from relevo.batch import generation
from relevo.jobs.handlers import Handlers
from relevo.jobs.models import JobKind
from relevo.registry import training

HANDLERS: Handlers = {JobKind.train: training.HANDLER, JobKind.generate: generation.HANDLER}
