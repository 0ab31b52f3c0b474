"""An account may have RELEVO_MAX_PENDING_JOBS jobs pending or running at once; past it, every
route that starts a job answers 429 with the error body. Other accounts, the system's own
jobs and finished jobs do not count."""

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.batch import service as batch_service
from relevo.core.config import Settings
from relevo.job_kinds import HANDLERS
from relevo.jobs import runner
from relevo.jobs import service as jobs_service
from tests.errors import assert_error_mentioning
from tests.recommend.shop import DemoShop

# Every route that starts a job, with a body it accepts.
STARTING_A_JOB = [
    ("/api/v1/jobs", {"user_ids": ["U000001"]}),
    ("/generate-recommendations", {"user_ids": ["U000001"]}),
    ("/recommendations/generate", {"user_id": "U000001"}),
    ("/api/v1/models/default/train", {"algorithm": "popular"}),
    ("/api/enhanced-train/", {"algorithm": "popular"}),
]


def waiting_jobs(session: Session, account_id: int | None, count: int) -> list[str]:
    """Jobs of the account still pending (never handed to an executor in these tests)."""
    jobs = [
        batch_service.start_generation(
            session=session, user_ids=["a"], top_k=3, created_by=account_id, max_users=10, max_pending=None
        )
        for _ in range(count)
    ]
    session.commit()
    return [job.id for job in jobs]


def test_past_its_limit_an_account_gets_429_from_every_route_that_starts_a_job(
    client: TestClient,
    settings: Settings,
    session: Session,
    make_account: Callable[..., Account],
    auth: Callable[[Account], dict[str, str]],
    shop: DemoShop,
) -> None:
    settings.max_pending_jobs = 2
    busy = make_account(Role.admin)
    first, _ = waiting_jobs(session, busy.id, 2)
    waiting_jobs(session, None, 3)  # the system's: not counted against anyone

    for path, body in STARTING_A_JOB:
        response = client.post(path, json=body, headers=auth(busy))
        assert_error_mentioning(response, 429, "RELEVO_MAX_PENDING_JOBS", "2")

    # Another account is not held back by this one's jobs.
    other = auth(make_account(Role.admin))
    assert client.post("/api/v1/jobs", json={"user_ids": ["U000001"]}, headers=other).status_code == 202
    # A job that ends frees its place.
    runner.cancel(session=session, job=jobs_service.get_or_raise(session=session, job_id=first), handlers=HANDLERS)
    session.commit()
    assert client.post("/api/v1/jobs", json={"user_ids": ["U000001"]}, headers=auth(busy)).status_code == 202


def test_jobs_the_system_starts_have_no_limit(session: Session) -> None:
    waiting_jobs(session, None, 3)
    batch_service.start_generation(
        session=session, user_ids=["a"], top_k=3, created_by=None, max_users=10, max_pending=1
    )
