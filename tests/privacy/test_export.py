"""Exporting a shopper: one JSON document of everything Relevo holds about them, written a page
at a time, and logged with who asked and when."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from relevo.batch.models import JobResult, ranked
from relevo.catalog.models import Product
from relevo.core.db import utcnow
from relevo.events.models import Event
from relevo.exposures.models import Exposure
from relevo.privacy import export
from relevo.users.models import User
from tests.errors import assert_error


def test_an_export_holds_the_shoppers_row_events_results_exposures_and_audit(
    client: TestClient, admin_headers: dict, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "PAGE", 2)  # several pages of each kind
    user = User(external_id="shopper-1", attributes={"tier": "gold"})
    other = User(external_id="shopper-2", attributes={})
    product = Product(external_id="P1", name="Tea")
    session.add_all([user, other, product])
    session.flush()
    now = utcnow()
    session.add_all(Event(user_id=user.id, product_id=product.id, event_type="view", occurred_at=now) for _ in range(5))
    session.add(Event(user_id=other.id, product_id=product.id, event_type="view", occurred_at=now))
    session.add_all(JobResult(job_id=f"job-{n}", user_id="shopper-1", ranked=ranked(["P1"], [0.5])) for n in range(3))
    session.add(JobResult(job_id="job-0", user_id="shopper-2", ranked=ranked(["P1"], [0.5])))
    common = {"items": ["P1"], "source": "model", "route": "canonical"}
    session.add_all(Exposure(recommendation_id=f"r{n}", user_id="shopper-1", **common) for n in range(3))
    session.add(Exposure(recommendation_id="r-other", user_id="shopper-2", **common))
    session.commit()

    response = client.get("/api/v1/users/shopper-1/export", headers=admin_headers)

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["user"]["user_id"] == "shopper-1" and document["user"]["attributes"] == {"tier": "gold"}
    assert [event["product_id"] for event in document["events"]] == ["P1"] * 5
    assert len({event["id"] for event in document["events"]}) == 5
    assert sorted(result["job_id"] for result in document["batch_results"]) == ["job-0", "job-1", "job-2"]
    assert document["batch_results"][0]["items"] == [{"product_id": "P1", "score": 0.5}]
    assert sorted(exposure["recommendation_id"] for exposure in document["exposures"]) == ["r0", "r1", "r2"]
    assert document["batch_jobs_listing"] == []
    [entry] = document["audit"]
    assert entry["action"] == "export" and entry["account_id"] is not None and entry["occurred_at"].endswith("Z")
    [logged] = client.get("/api/v1/privacy/audit", headers=admin_headers).json()["items"]
    assert (logged["action"], logged["user_id"]) == ("export", "shopper-1")


def test_an_erased_shoppers_export_holds_only_the_emptied_row_and_the_log(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    session.add(User(external_id="gone", attributes={"email": "x@example.com"}))
    session.commit()
    assert client.delete("/api/v1/users/gone", headers=admin_headers).status_code == 204

    document = client.get("/api/v1/users/gone/export", headers=admin_headers).json()

    assert document["user"]["attributes"] == {} and document["user"]["erased_at"] is not None
    assert document["events"] == document["batch_results"] == document["exposures"] == []
    assert [entry["action"] for entry in document["audit"]] == ["erase", "export"]


def test_exporting_an_unknown_shopper_is_404(client: TestClient, admin_headers: dict) -> None:
    assert_error(client.get("/api/v1/users/nobody/export", headers=admin_headers), 404)
    assert_error(client.get("/api/v1/users/nobody/export"), 401)
