"""Jobs belong to who started them: others' jobs are not found by any jobs route (admins see
all); cancelling or deleting needs jobs:manage, and a training also models:manage."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role
from tests.errors import assert_error
from tests.recommend.shop import DemoShop

JOBS = "/api/v1/jobs"


def start_batch(client: TestClient, headers: dict[str, str], users: list[str]) -> str:
    response = client.post(JOBS, json={"user_ids": users, "top_k": 3}, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


@pytest.fixture
def owner_headers(make_account: Callable[..., Account], auth: Callable) -> dict[str, str]:
    return auth(make_account(Role.owner))


def test_an_owner_cannot_see_cancel_or_delete_a_job_an_admin_started(
    client: TestClient, admin_headers: dict, owner_headers: dict, shop: DemoShop, trained: dict
) -> None:
    job = start_batch(client, admin_headers, ["U0001", "U0002"])

    for method, path in [
        ("GET", f"{JOBS}/{job}"),
        ("GET", f"{JOBS}/{job}/results"),
        ("GET", f"{JOBS}/{job}/export"),
        ("POST", f"{JOBS}/{job}/cancel"),
        ("DELETE", f"{JOBS}/{job}"),
        ("GET", f"/job-status/{job}"),
        ("DELETE", f"/job/{job}"),
    ]:
        assert_error(client.request(method, path, headers=owner_headers), 404)
    assert [listed["job_id"] for listed in client.get("/jobs", headers=owner_headers).json()] == []
    assert client.get(f"{JOBS}/{job}/results", headers=admin_headers).json()["items"]  # kept, results and all
    assert client.delete(f"/job/{job}", headers=admin_headers).status_code == 200


def test_owners_see_and_manage_their_own_jobs_and_admins_see_all(
    client: TestClient, admin_headers: dict, owner_headers: dict, shop: DemoShop, trained: dict
) -> None:
    mine = start_batch(client, owner_headers, ["U0001"])
    admins = start_batch(client, admin_headers, ["U0002"])

    assert [job["job_id"] for job in client.get(JOBS, headers=owner_headers).json()] == [mine]
    assert {mine, admins} <= {job["job_id"] for job in client.get(JOBS, headers=admin_headers).json()}
    assert client.get(f"{JOBS}/{mine}/results", headers=owner_headers).json()["items"]
    assert client.delete(f"{JOBS}/{mine}", headers=owner_headers).status_code == 204


def test_cancelling_a_training_needs_models_manage(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    made = client.post(
        "/api/v1/api-keys", json={"name": "jobs", "scopes": ["jobs:manage", "read"]}, headers=admin_headers
    )
    jobs_key = {"Authorization": f"Bearer {made.json()['key']}"}
    training = next(job for job in client.get(JOBS, headers=admin_headers).json() if job["kind"] == "train")

    response = client.delete(f"{JOBS}/{training['job_id']}", headers=jobs_key)

    assert "models:manage" in assert_error(response, 403)
