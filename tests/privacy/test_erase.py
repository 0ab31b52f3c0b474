"""Erasing a shopper: their events, batch results, exposures and listings go, answers for them
are the cold-start one at once (even from a model trained on them), the next training does not
see them, and every erase is logged with who asked and when."""

from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.batch.models import JobResult
from relevo.core.config import Settings
from relevo.core.db import Database, insert_rows, utcnow
from relevo.events.models import Event
from relevo.exposures.models import Exposure
from relevo.jobs.models import Job
from relevo.server.app import create_app
from relevo.users.models import User
from tests.errors import assert_error
from tests.recommend.shop import DemoShop, most_active_user, product_ids, recommend, train

STRANGER = "never-seen-anywhere"


def erase(client: TestClient, headers: dict, user_id: str) -> None:
    response = client.delete(f"/api/v1/users/{user_id}", headers=headers)
    assert response.status_code == 204, response.text


def explained_way(client: TestClient, headers: dict, user_id: str) -> str:
    response = client.get(f"/api/v1/recommendations/{user_id}/explain", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["answered_by"]["way"]


def held(session: Session, user_id: str) -> dict[str, int]:
    internal = session.scalar(select(User.id).where(User.external_id == user_id))
    count = lambda query: session.scalar(select(func.count()).select_from(query.subquery()))  # noqa: E731
    return {
        "events": count(select(Event.id).where(Event.user_id == internal)),
        "batch_results": count(select(JobResult.id).where(JobResult.user_id == user_id)),
        "exposures": count(select(Exposure.id).where(Exposure.user_id == user_id)),
    }


def test_erasing_a_shopper_the_model_knows_makes_them_a_stranger_at_once(
    client: TestClient, admin_headers: dict, session: Session, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    assert explained_way(client, admin_headers, user) == "ranked_ahead"
    assert product_ids(recommend(client, user)) != product_ids(recommend(client, STRANGER))
    client.app.state.exposures.flush()
    job = client.post("/api/v1/jobs", json={"user_ids": [user, STRANGER], "top_k": 3}, headers=admin_headers)
    assert job.status_code == 202, job.text
    before = held(session, user)
    assert all(before.values()), before

    erase(client, admin_headers, user)

    assert held(session, user) == {"events": 0, "batch_results": 0, "exposures": 0}
    assert explained_way(client, admin_headers, user) == "cold_start"
    assert product_ids(recommend(client, user)) == product_ids(recommend(client, STRANGER))
    assert session.get(Job, job.json()["job_id"]).params["user_ids"] == [STRANGER]
    row = session.scalars(select(User).where(User.external_id == user)).one()
    session.refresh(row)
    assert row.attributes == {} and isinstance(row.erased_at, datetime)
    [entry] = client.get("/api/v1/privacy/audit", headers=admin_headers).json()["items"]
    assert entry["action"] == "erase" and entry["user_id"] == user and entry["account_id"] is not None
    assert {key: entry["details"][key] for key in before} == before
    assert entry["details"]["batch_jobs_listing"] == 1


def test_a_batch_job_after_the_erase_ranks_the_shopper_as_a_stranger(
    client: TestClient, admin_headers: dict, session: Session, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    erase(client, admin_headers, user)

    job = client.post("/api/v1/jobs", json={"user_ids": [user, STRANGER], "top_k": 3}, headers=admin_headers)
    results = client.get(f"/api/v1/jobs/{job.json()['job_id']}/results", headers=admin_headers).json()["items"]

    by_user = {result["user_id"]: [item["product_id"] for item in result["items"]] for result in results}
    assert by_user[user] == by_user[STRANGER]


def test_the_next_training_does_not_see_an_erased_shopper(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    assert user in client.app.state.serving.versions.get("default").recommender.users
    erase(client, admin_headers, user)

    version = train(client, admin_headers)

    assert version["status"] == "deployed"
    assert user not in client.app.state.serving.versions.get("default").recommender.users
    assert explained_way(client, admin_headers, user) == "cold_start"


def test_new_events_after_the_erase_are_the_shoppers_new_history(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    erase(client, admin_headers, user)
    event = {"user_id": user, "product_id": shop.products[0].external_id, "event_type": "view"}
    assert client.post("/api/v1/events", json=event, headers=admin_headers).status_code < 300

    explained = client.get(f"/api/v1/recommendations/{user}/explain", headers=admin_headers).json()

    assert explained["answered_by"]["way"] == "ranked_anew"
    assert [e["product_id"] for e in explained["history"]["events_since_training"]] == [event["product_id"]]
    assert explained["history"]["events_in_training"] == 0
    assert explained["history"]["products_in_training"] == 0


def test_a_shopper_with_many_events_is_erased_in_chunks(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    session.add_all([User(external_id="heavy", attributes={"tier": "gold"}), User(external_id="other", attributes={})])
    session.flush()
    heavy, other = (session.scalar(select(User.id).where(User.external_id == name)) for name in ("heavy", "other"))
    columns = ("user_id", "product_id", "event_type", "occurred_at")
    now = utcnow()
    rows = [(heavy, number % 50, "view", now) for number in range(12_345)] + [(other, 1, "view", now)] * 3
    insert_rows(session.connection(), Event.__table__, columns, rows)
    session.commit()

    erase(client, admin_headers, "heavy")

    remaining = dict(session.execute(select(Event.user_id, func.count()).group_by(Event.user_id)).all())
    assert heavy not in remaining and remaining[other] == 3
    [entry] = client.get("/api/v1/privacy/audit", params={"user_id": "heavy"}, headers=admin_headers).json()["items"]
    assert entry["details"]["events"] == 12_345


def test_erasing_again_is_harmless_and_unknown_shoppers_are_404(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    session.add(User(external_id="twice", attributes={"email": "a@example.com"}))
    session.commit()

    erase(client, admin_headers, "twice")
    erase(client, admin_headers, "twice")

    entries = client.get("/api/v1/privacy/audit", params={"user_id": "twice"}, headers=admin_headers).json()["items"]
    assert [entry["action"] for entry in entries] == ["erase", "erase"]
    assert entries[0]["details"]["events"] == 0
    read = client.get("/api/v1/users/twice", headers=admin_headers).json()
    assert read["attributes"] == {} and read["erased_at"] is not None
    assert_error(client.delete(f"/api/v1/users/{STRANGER}", headers=admin_headers), 404)
    assert client.get("/api/v1/privacy/audit", params={"user_id": STRANGER}, headers=admin_headers).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_the_privacy_audit_is_for_admins_and_append_only(
    client: TestClient,
    admin_headers: dict,
    database: Database,
    make_account: Callable[..., Account],
    auth: Callable,
    session: Session,
) -> None:
    session.add(User(external_id="someone", attributes={}))
    session.commit()
    erase(client, admin_headers, "someone")
    viewer = auth(make_account(Role.viewer))

    assert_error(client.delete("/api/v1/users/someone", headers=viewer), 403)
    assert_error(client.get("/api/v1/privacy/audit", headers=viewer), 403)
    assert_error(client.get("/api/v1/privacy/audit"), 401)
    with database.session() as other:
        for statement in ("UPDATE privacy_audit SET action = 'nothing'", "DELETE FROM privacy_audit"):
            with pytest.raises(DBAPIError, match="append-only"), other.begin_nested():
                other.execute(text(statement))


def test_another_server_process_learns_of_the_erase_from_the_audit_log(
    client: TestClient, admin_headers: dict, settings: Settings, database: Database, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    with TestClient(create_app(settings, database=database), raise_server_exceptions=False) as other:
        kept = product_ids(recommend(other, user))  # answered, and kept, by the other process
        assert kept != product_ids(recommend(other, STRANGER))

        erase(client, admin_headers, user)

        assert product_ids(recommend(other, user)) == product_ids(recommend(other, STRANGER))
        assert explained_way(other, admin_headers, user) == "cold_start"
