"""Every answer served inside an experiment is an exposure, on every route that serves a person
and on every server process; outcomes are attributed to exposures by recommendation id or by
the attribution window; results count them per variant, compare with the control and check
the sample ratio."""

from datetime import timedelta

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.events import service as events_service
from relevo.events.service import EventRow
from relevo.experiments import statistics
from relevo.exposures.writer import ExposureRow, ExposureWriter
from relevo.server.app import create_app
from tests.experiments.experiment_api import create, exposures, running_body
from tests.recommend.shop import DemoShop, product_ids, recommend, train


@pytest.fixture
def running(client: TestClient, admin_headers: dict, trained: dict) -> dict:
    train(client, admin_headers, name="popular-model", algorithm="popular")
    return create(client, admin_headers, running_body(), start="true")


def test_every_route_that_serves_a_person_records_one_exposure_per_answer(
    client: TestClient, app: FastAPI, database: Database, running: dict
) -> None:
    canonical = recommend(client, "shopper-1", count=4)
    smartcommerce = client.get("/api/recommendations/shopper-2/", params={"count": 4}).json()
    background_jobs = client.get("/recommendations/shopper-3", params={"count": 4}).json()
    purchases = client.get("/recommendations", params={"user_id": "shopper-4"}).json()

    found = {exposure.route: exposure for exposure in exposures(app, database, "exp-1")}
    assert sorted(found) == ["background_jobs", "canonical", "purchases", "smartcommerce"]
    assert found["canonical"].recommendation_id == canonical["recommendation_id"]
    assert found["canonical"].variant == canonical["experiment"]["variant"]
    assert found["canonical"].items == [item["product_id"] for item in canonical["items"]]
    assert found["smartcommerce"].items == [str(item["product_id"]) for item in smartcommerce["recommendations"]]
    assert found["background_jobs"].items == [item["product_id"] for item in background_jobs]
    assert found["purchases"].items == [purchases["product"]]
    assert {exposure.user_id for exposure in found.values()} == {f"shopper-{n}" for n in range(1, 5)}
    # A model named by the caller is no experiment's answer.
    assert "experiment" not in recommend(client, "shopper-5", model="default")
    assert len(exposures(app, database, "exp-1")) == 4


def test_exposures_from_two_server_processes_land_in_one_database(
    client: TestClient, app: FastAPI, settings: Settings, database: Database, running: dict
) -> None:
    other = create_app(settings, database=database)
    with TestClient(other) as second:
        for number in range(5):
            recommend(client, f"first-{number}")
            recommend(second, f"second-{number}")
        other.state.exposures.flush()

    users = sorted(exposure.user_id for exposure in exposures(app, database, "exp-1"))
    assert users == sorted([*(f"first-{n}" for n in range(5)), *(f"second-{n}" for n in range(5))])


def post(client: TestClient, headers: dict, **event: object) -> None:
    assert client.post("/api/v1/events", json=event, headers=headers).status_code < 300


def test_outcomes_are_attributed_by_recommendation_id_or_within_the_window(
    client: TestClient, admin_headers: dict, app: FastAPI, database: Database, trained: dict
) -> None:
    train(client, admin_headers, name="popular-model", algorithm="popular")
    create(client, admin_headers, running_body(attribution_hours=1), start="true")
    answers = {user: recommend(client, user, count=3) for user in ("by-id", "in-window", "too-late", "not-shown")}
    shown = {user: [item["product_id"] for item in answer["items"]] for user, answer in answers.items()}
    exposures(app, database, "exp-1")  # written
    late = (utcnow() + timedelta(hours=2)).isoformat() + "Z"  # past the hour the window lasts

    post(
        client,
        admin_headers,
        user_id="by-id",
        product_id=shown["not-shown"][0],
        event_type="click",
        recommendation_id=answers["by-id"]["recommendation_id"],
    )
    post(client, admin_headers, user_id="in-window", product_id=shown["in-window"][1], event_type="purchase", value=30)
    post(client, admin_headers, user_id="too-late", product_id=shown["too-late"][0], event_type="click", timestamp=late)
    post(client, admin_headers, user_id="not-shown", product_id="P999999", event_type="click")

    results = client.get("/api/v1/experiments/exp-1/results", headers=admin_headers).json()
    totals = {
        name: sum(variant[name] for variant in results["variants"]) for name in ("exposures", "clicks", "purchases")
    }
    assert totals == {"exposures": 4, "clicks": 1, "purchases": 1}
    in_window = answers["in-window"]["experiment"]["variant"]
    assert next(v for v in results["variants"] if v["name"] == in_window)["revenue"] == 30.0


def exposure_rows(writer: ExposureWriter, variant: str, users: int, prefix: str, per_user: int = 3) -> None:
    for user in range(users):
        for number in range(per_user):
            writer.record(
                ExposureRow(
                    recommendation_id=f"{prefix}-{user}-{number}",
                    experiment_id="exp-1",
                    variant=variant,
                    user_id=f"{prefix}-{user}",
                    items=["P000001", "P000002"],
                    credits=None,
                    model_version_id=None,
                    model=None,
                    model_version=None,
                    source="model",
                    fallback=False,
                    route="canonical",
                )
            )


def clicks(session: Session, prefix: str, users: int, every: int) -> None:
    rows = [
        EventRow(None, f"{prefix}-{user}", "P000001", "click", None, None, None, None, None, utcnow())
        for user in range(0, users, every)
    ]
    events_service.store_rows(session=session, rows=rows)
    session.commit()


def test_results_count_and_compare_each_variant_and_check_the_sample_ratio(
    client: TestClient, admin_headers: dict, app: FastAPI, session: Session, running: dict, shop: DemoShop
) -> None:
    writer: ExposureWriter = app.state.exposures
    exposure_rows(writer, "control", 530, "c")
    exposure_rows(writer, "treatment", 470, "t")
    writer.flush()
    clicks(session, "c", 530, every=5)  # 106 users click once: 106 clicks in 1,590 exposures
    clicks(session, "t", 470, every=3)  # 157 clicks in 1,410 exposures

    results = client.get("/api/v1/experiments/exp-1/results", headers=admin_headers).json()

    control, treatment = results["variants"]
    assert (control["users"], control["exposures"], control["clicks"]) == (530, 1590, 106)
    assert (treatment["users"], treatment["exposures"], treatment["clicks"]) == (470, 1410, 157)
    assert control["metrics"]["click_through_rate"]["value"] == pytest.approx(106 / 1590)
    # Every metric is reported, not only the experiment's success metrics.
    assert set(control["metrics"]) == {"click_through_rate", "conversion_rate", "add_to_cart_rate", "revenue_per_user"}
    assert control["metrics"]["add_to_cart_rate"]["value"] == 0.0
    assert treatment["metrics"]["revenue_per_user"]["value"] == 0.0
    [compared] = [c for c in results["comparisons"] if c["metric"] == "click_through_rate"]
    expected = statistics.compare_ratios(
        np.r_[np.ones(106), np.zeros(424)], np.full(530, 3.0), np.r_[np.ones(157), np.zeros(313)], np.full(470, 3.0)
    )
    assert compared["p_value"] == pytest.approx(expected.p_value)
    assert compared["always_valid_p_value"] == pytest.approx(expected.always_valid_p_value)
    assert compared["absolute_lift"]["value"] == pytest.approx(157 / 1410 - 106 / 1590)
    # 530 against 470 for a 50/50 split: p ≈ 0.058, no mismatch.
    assert results["sample_ratio"]["mismatch"] is False
    assert results["verdict"]["outcome"] in ("winner", "no_difference")


def test_a_skewed_split_marks_the_results_untrustworthy(
    client: TestClient, admin_headers: dict, app: FastAPI, running: dict
) -> None:
    writer: ExposureWriter = app.state.exposures
    exposure_rows(writer, "control", 600, "c", per_user=1)
    exposure_rows(writer, "treatment", 400, "t", per_user=1)
    writer.flush()

    results = client.get("/api/v1/experiments/exp-1/results", headers=admin_headers).json()

    assert results["sample_ratio"]["mismatch"] is True
    assert results["verdict"] == {
        "outcome": "sample_ratio_mismatch",
        "winner": None,
        "metric": None,
        "words": "results untrustworthy: sample ratio mismatch",
    }


def test_an_interleaving_test_interleaves_both_rankers_and_credits_clicks_to_them(
    client: TestClient, admin_headers: dict, app: FastAPI, database: Database, trained: dict
) -> None:
    train(client, admin_headers, name="popular-model", algorithm="popular")
    create(client, admin_headers, running_body(kind="interleaving"), start="true")
    user = "interleaved-shopper"

    answer = recommend(client, user, count=6)

    assert answer["experiment"] == {"id": "exp-1", "variant": "interleaved"}
    shown = [item["product_id"] for item in answer["items"]]
    own = {
        "control": product_ids(recommend(client, user, count=6, model="default")),
        "treatment": product_ids(recommend(client, user, count=6, model="popular-model")),
    }
    [exposure] = exposures(app, database, "exp-1")
    assert exposure.items == shown and exposure.recommendation_id == answer["recommendation_id"]
    assert len(shown) == 6 == len(set(shown))
    for product, ranker in zip(shown, exposure.credits, strict=True):
        assert product in own[ranker]
    for product, ranker in zip(shown, exposure.credits, strict=True):
        if ranker == "control":
            post(client, admin_headers, user_id=user, product_id=product, event_type="click")

    results = client.get("/api/v1/experiments/exp-1/results", headers=admin_headers).json()

    assert results["interleaving"]["wins"] == {"control": 1, "treatment": 0}
    assert results["interleaving"]["share_first"]["value"] == 1.0
    assert results["variants"][0]["name"] == "interleaved" and results["variants"][0]["exposures"] == 1
    assert results["verdict"]["outcome"] == "not_enough_data"
