"""One BLAS thread while other threads do the work (implicit's solvers, a batch's scoring
threads): a second pool inside BLAS would only compete with them.

threadpoolctl finds the thread pools by reading the process's memory map, one to several
milliseconds each time (`threadpool_limits`). The controller is made once, at first use (with
numpy's and scipy's BLAS loaded), and kept: setting and restoring a limit then costs about
20 µs, little enough for a request that folds in a user with new events."""

from contextlib import AbstractContextManager
from functools import cache

import scipy.linalg  # noqa: F401 (loads scipy's own BLAS, so the controller finds it too)
from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[object]:
    """A context manager: BLAS limited to one thread inside, as it was after."""
    return _controller().limit(limits=1, user_api="blas")
