"""Rate limits as a caller meets them: counted per client, refused with 429 saying which limit
and when it frees, every response of a limited route saying what is left, the probes never
limited, training starts and bulk operations counted apart, and all of it off with
RELEVO_RATE_LIMITS=false. In memory and in Redis, on SQLite and PostgreSQL."""

import time
from collections.abc import Callable

import httpx2

from relevo.accounts.models import Account, Role
from relevo.accounts.quotas import Holder
from relevo.core import metrics
from tests.errors import assert_error, assert_error_mentioning
from tests.ratelimits.conftest import DAY, LimitedClient, away_from_a_window_edge

READ = "/api/v1/popular"  # a public route that needs no model
PROBES = ("/health", "/health/", "/ready", "/ready/", "/metrics")


def fields(response: httpx2.Response) -> tuple[str | None, str | None]:
    return response.headers.get("ratelimit-policy"), response.headers.get("ratelimit")


def test_a_client_gets_its_quota_then_429_naming_the_limit_and_when_it_frees(limited_client: LimitedClient) -> None:
    away_from_a_window_edge(DAY)
    with limited_client(peer="203.0.113.7") as client:
        answers = [client.get(READ) for _ in range(3)]
        refused = client.get(READ)

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [fields(answer)[0] for answer in answers] == ['"api";q=3;w=86400'] * 3
    remaining = [fields(answer)[1].split(";")[1] for answer in answers]
    assert remaining == ["r=2", "r=1", "r=0"]
    details = assert_error_mentioning(
        refused, 429, "api", "3 requests per day", "address 203.0.113.7", "the next request is allowed in"
    )
    assert refused.json()["error"] == "Too many requests"
    policy, state = fields(refused)
    assert policy == '"api";q=3;w=86400'
    seconds = int(refused.headers["retry-after"])
    assert 1 <= seconds <= DAY
    assert state == f'"api";r=0;t={seconds}'
    assert f"allowed in {seconds} s" in details


def test_a_refused_request_is_not_counted_and_is_let_through_once_the_window_slides(
    limited_client: LimitedClient,
) -> None:
    with limited_client(rate_limit_api="2/second") as client:
        refused = next(response for response in (client.get(READ) for _ in range(10)) if response.status_code == 429)
        assert refused.headers["retry-after"] == "1"

        started, answer = time.monotonic(), refused
        while answer.status_code == 429 and time.monotonic() - started < 5:
            time.sleep(0.05)
            answer = client.get(READ)

    # The sliding window frees room within two windows of the last request counted.
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < 3


def test_every_answer_of_a_limited_route_says_what_is_left(
    limited_client: LimitedClient, make_account: Callable[..., Account], auth: Callable
) -> None:
    away_from_a_window_edge(DAY)
    with limited_client() as client:
        unauthenticated = client.get("/api/v1/accounts", headers={"Authorization": "Bearer not-a-token"})
        unknown = client.get("/api/v1/jobs/no-such-job", headers=auth(make_account(Role.viewer)))
        invalid = client.get(READ, params={"count": 0})

    assert_error(unauthenticated, 401)
    assert_error(unknown, 404)
    assert_error(invalid, 422)
    # A bad token is counted on the client's address, as any request without a valid token.
    assert fields(unauthenticated) == ('"api";q=3;w=86400', fields(unauthenticated)[1])
    assert fields(unauthenticated)[1].startswith('"api";r=2;t=')
    assert fields(unknown)[1].startswith('"api";r=2;t=')  # the viewer's own count
    assert fields(invalid)[1].startswith('"api";r=1;t=')
    assert "retry-after" not in unknown.headers


def test_the_probes_and_metrics_are_never_limited(limited_client: LimitedClient) -> None:
    away_from_a_window_edge(DAY)
    with limited_client() as client:
        probes = [
            client.get(path) for _ in range(5) for path in ("/health", "/health/", "/ready", "/ready/", "/metrics")
        ]
        documentation = [client.get(path) for path in ("/docs", "/redoc", "/openapi.json")]
        first_call = client.get(READ)

    assert {probe.status_code for probe in probes + documentation} == {200}
    assert all(fields(answer) == (None, None) for answer in probes + documentation)
    assert fields(first_call)[1].startswith('"api";r=2;')


def test_rate_limits_false_turns_every_limit_off(
    limited_client: LimitedClient, make_account: Callable[..., Account], auth: Callable
) -> None:
    with limited_client(rate_limits=False, rate_limit_api="1/day", rate_limit_training="1/day") as client:
        headers = auth(make_account(Role.admin))
        reads = [client.get(READ) for _ in range(5)]
        trainings = [
            client.post("/api/v1/models/m/train", json={"algorithm": "nosuch"}, headers=headers) for _ in range(3)
        ]

    assert [read.status_code for read in reads] == [200] * 5
    assert {training.status_code for training in trainings} == {400}
    assert all(fields(answer) == (None, None) for answer in reads + trainings)


def test_every_route_that_starts_a_training_counts_against_the_training_limit(
    limited_client: LimitedClient,
    make_account: Callable[..., Account],
    auth: Callable,
    give_quotas: Callable[..., None],
) -> None:
    """Canonical and SmartCommerce API alike; a start refused for its settings counts too."""
    away_from_a_window_edge(DAY)
    admin = make_account(Role.admin)
    give_quotas(Holder("account", admin.id), api="100/day")
    refused_before = metrics.RATE_LIMIT_REFUSALS.labels("training")._value.get()
    with limited_client() as client:
        first = client.post("/api/v1/models/m/train", json={"algorithm": "nosuch"}, headers=auth(admin))
        second = client.post("/api/enhanced-train/", json={"algorithm": "nosuch"}, headers=auth(admin))
        third = client.post("/api/v1/models/m/train", json={"algorithm": "nosuch"}, headers=auth(admin))
        other_calls = client.get("/api/v1/models", headers=auth(admin))

    assert_error(first, 400)
    assert fields(first) == ('"api";q=100;w=86400, "training";q=2;w=86400', fields(first)[1])
    assert fields(first)[1].startswith('"api";r=99;t=') and ', "training";r=1;t=' in fields(first)[1]
    assert_error(second, 400)
    assert ', "training";r=0;t=' in fields(second)[1]
    assert_error_mentioning(third, 429, "training: the limit of 2 requests per day", f"account {admin.id}")
    assert other_calls.status_code == 200
    assert fields(other_calls)[0] == '"api";q=100;w=86400'
    assert metrics.RATE_LIMIT_REFUSALS.labels("training")._value.get() == refused_before + 1


def test_uploads_and_batch_jobs_count_against_the_bulk_limit(
    limited_client: LimitedClient,
    make_account: Callable[..., Account],
    auth: Callable,
    give_quotas: Callable[..., None],
) -> None:
    away_from_a_window_edge(DAY)
    admin = make_account(Role.admin)
    give_quotas(Holder("account", admin.id), api="100/day", bulk="4/day")
    upload = {"files": {"file": ("rows.csv", b"no header here\n", "text/csv")}, "data": {"dataset_type": "users"}}
    with limited_client() as client:
        answers = [
            client.post("/api/v1/datasets", headers=auth(admin), **upload),
            client.post("/api/upload-dataset/", headers=auth(admin), **upload),
            client.post("/api/v1/jobs", json={}, headers=auth(admin)),
            client.post("/generate-recommendations", json={}, headers=auth(admin)),
        ]
        refused = client.post("/api/v1/datasets", headers=auth(admin), **upload)

    assert [answer.status_code for answer in answers] == [400, 400, 422, 422]
    assert [fields(answer)[1].split(", ")[1].split(";t=")[0] for answer in answers] == [
        '"bulk";r=3',
        '"bulk";r=2',
        '"bulk";r=1',
        '"bulk";r=0',
    ]
    assert_error_mentioning(refused, 429, "bulk: the limit of 4 requests per day")


def test_an_event_batch_over_1000_events_is_a_bulk_operation(
    limited_client: LimitedClient,
    make_account: Callable[..., Account],
    auth: Callable,
    give_quotas: Callable[..., None],
) -> None:
    away_from_a_window_edge(DAY)
    sender = make_account(Role.service)
    give_quotas(Holder("account", sender.id), bulk="1/day")

    def batch(size: int) -> list[dict]:
        return [{"user_id": f"U{size}-{n}", "product_id": "P1", "event_type": "view"} for n in range(size)]

    with limited_client(max_event_batch=2_000) as client:
        thousand = client.post("/api/v1/events", json=batch(1_000), headers=auth(sender))
        over = client.post("/api/v1/events", json=batch(1_001), headers=auth(sender))
        again = client.post("/api/v1/events", json=batch(1_001), headers=auth(sender))

    assert thousand.status_code == 201, thousand.text
    assert fields(thousand)[0] == '"api";q=3;w=86400'
    assert over.status_code == 201, over.text
    assert fields(over)[0] == '"api";q=3;w=86400, "bulk";q=1;w=86400'
    assert_error_mentioning(again, 429, "bulk: the limit of 1 request per day")
    assert fields(again)[1].startswith('"api";r=0;') and ', "bulk";r=0;' in fields(again)[1]
