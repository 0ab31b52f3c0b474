"""The one-BLAS-thread limit: set inside, restored after, as often as it is asked for."""

from threadpoolctl import threadpool_info, threadpool_limits

from relevo.engine.blas import one_blas_thread


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_blas_runs_one_thread_inside_and_as_before_after() -> None:
    with threadpool_limits(limits=2, user_api="blas"):  # whatever the process was left with
        before = blas_threads()
        assert before and set(before) == {2}, "numpy and scipy load a BLAS"
        for _ in range(2):  # the kept controller sets and restores the limit each time
            with one_blas_thread():
                assert blas_threads() == [1] * len(before)
            assert blas_threads() == before
