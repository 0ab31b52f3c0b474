"""Real `relevo serve` processes, and jobs that must never hang: a server killed with SIGKILL
in the middle of a batch job, started again at once, takes the job up by itself and completes
it with each user's result exactly once; a cancelled training frees the server's only job
thread within seconds. On a SQLite file and on a PostgreSQL database of the test's own.

These are integration tests (marked so): each starts servers on free ports. They print how
long a killed server's job took to run again, and a cancelled training to let the next job
through (`pytest -s` shows it)."""

import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from relevo.accounts import service as accounts_service
from relevo.accounts.models import Role
from relevo.accounts.schemas import AccountCreate
from relevo.batch.models import JobResult
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.jobs.models import Job, JobStatus
from tests.jobs.committed_shop import load_trained_shop
from tests.jobs.servers import Server, running_server
from tests.jobs.waiting import wait_until

pytestmark = pytest.mark.integration

# A killed server's job is stale this long after its last heartbeat: longer than a server takes
# to start here (3-6 s), so the server started again finds the job still looking alive, the
# case where a job used to hang until the next restart.
STALE_SECONDS = 10
SECRET = "a-secret-key-the-test-servers-share-with-the-test"


@pytest.fixture
def shop(empty_database_url: str, tmp_path: Path) -> Settings:
    """A committed demo shop with a deployed model; the settings the servers are started with."""
    settings = Settings(
        database_url=empty_database_url,
        data_dir=tmp_path / "data",
        secret_key=SECRET,
        job_threads=1,
        train_threads=1,
        batch_threads=1,
        job_stale_seconds=STALE_SECONDS,
    )
    load_trained_shop(settings)
    return settings


def environment(settings: Settings, **more: str) -> dict[str, str]:
    names = ("database_url", "data_dir", "secret_key", "job_threads", "train_threads", "batch_threads")
    return {
        **settings.environment(*names, "job_stale_seconds"),
        "RELEVO_ENV": "development",
        "RELEVO_LOG_LEVEL": "INFO",
        **{f"RELEVO_{name.upper()}": value for name, value in more.items()},
    }


def admin_headers(settings: Settings) -> dict[str, str]:
    database = Database(settings.database_url)
    with database.transaction() as session:
        data = AccountCreate(username=f"admin-{uuid.uuid4().hex[:8]}", password="a-long-password", role=Role.admin)
        account = accounts_service.create(session=session, data=data)
    database.dispose()
    return {"Authorization": f"Bearer {accounts_service.issue_access_token(account=account, settings=settings)}"}


def job_row(database: Database, job_id: str) -> Job:
    with database.session(write=False) as session:
        return session.get(Job, job_id)


def results_per_user(database: Database, job_id: str) -> dict[str, int]:
    query = select(JobResult.user_id, func.count()).where(JobResult.job_id == job_id).group_by(JobResult.user_id)
    with database.session(write=False) as session:
        return dict(session.execute(query).all())


def test_a_batch_job_of_a_killed_server_completes_on_the_next_with_each_user_once(
    shop: Settings, tmp_path: Path
) -> None:
    database = Database(shop.database_url)
    # Known users and strangers (these go through the request pipeline one by one), in chunks
    # of 10: two hundred chunks, a second or two of work, killed after the second chunk.
    users = [f"U{number:06d}" for number in range(1, 41)] + [f"stranger-{number}" for number in range(1960)]
    env = environment(shop, batch_chunk_users="10")
    headers = admin_headers(shop)
    log = tmp_path / "servers.log"

    first = Server(env, log)
    try:
        first.wait_until_up()
        started = first.client.post("/api/v1/jobs", json={"user_ids": users, "top_k": 5}, headers=headers)
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        wait_until(lambda: job_row(database, job_id).processed >= 20, seconds=60, what="chunks written")
        first.kill()
        killed_at = utcnow()
    finally:
        first.stop()
    cut_short = job_row(database, job_id)
    assert cut_short.status == JobStatus.running and 20 <= cut_short.processed < len(users), cut_short.processed

    with running_server(env, log):  # started again at once, mostly before the heartbeat is stale
        back_at = utcnow()

        def started_again() -> datetime | None:
            found = job_row(database, job_id)
            return found.started_at if found.started_at > killed_at else None

        resumed_at = wait_until(started_again, seconds=60, what="the job running again")
        wait_until(lambda: job_row(database, job_id).status != JobStatus.running, seconds=60, what="the job ended")

    done = job_row(database, job_id)
    assert (done.status, done.processed, done.failed) == (JobStatus.completed, len(users), 0), done.error
    assert results_per_user(database, job_id) == dict.fromkeys(users, 1)  # nobody missing, nobody twice
    print(
        f"\nkill -9 to a server answering again: {(back_at - killed_at).total_seconds():.2f} s; "
        f"to the job running again: {(resumed_at - killed_at).total_seconds():.2f} s "
        f"(RELEVO_JOB_STALE_SECONDS={STALE_SECONDS})"
    )
    database.dispose()


def test_a_cancelled_training_frees_the_only_job_thread(shop: Settings, tmp_path: Path) -> None:
    headers = admin_headers(shop)
    # Minutes of fitting on the demo shop, in iterations of a few hundredths of a second.
    long_training = {"algorithm": "als", "config": {"embedding_dim": 1024, "epochs": 1000}, "deploy": "never"}

    with running_server(environment(shop), tmp_path / "server.log") as server:
        training = server.client.post("/api/v1/models/default/train", json=long_training, headers=headers).json()
        job_path = f"/api/v1/jobs/{training['job_id']}"

        def fitting() -> bool:
            return server.client.get(job_path, headers=headers).json()["message"].startswith("fitting")

        wait_until(fitting, seconds=60, what="the fit begun")
        cancelled = server.client.post(f"{job_path}/cancel", headers=headers)
        cancelled_at = time.monotonic()
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text

        following = server.client.post("/api/v1/jobs", json={"user_ids": ["U000001"], "top_k": 3}, headers=headers)
        next_path = f"/api/v1/jobs/{following.json()['job_id']}"

        def next_done() -> bool:
            return server.client.get(next_path, headers=headers).json()["status"] == "completed"

        wait_until(next_done, seconds=20, what="the next job done")
        freed = time.monotonic() - cancelled_at
        version = server.client.get(f"/api/v1/models/default/versions/{training['version']}", headers=headers).json()

    assert version["status"] == "failed" and "cancelled" in version["error"], version
    assert not (shop.resolved_artifacts_dir / "default" / str(training["version"])).exists()
    print(f"\ncancelled training to the next job done: {freed:.2f} s")
