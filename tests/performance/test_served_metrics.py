"""`relevo serve --workers 2`: whichever process answers, /metrics adds up what every process
counted and reads jobs and deployed versions from the database once; the performance metrics
hold every process's answers and requests."""

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx2
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from relevo.core.config import Settings
from relevo.performance.requests import NOT_COUNTED
from tests.jobs.committed_shop import load_trained_shop
from tests.served import served, wait_until

ADMIN_PASSWORD = "metrics-admin-password-1e9b"
MOST_REQUESTS = 400  # sent at most before both processes have answered some


def scraped(url: str) -> list:
    """Every sample of /metrics, asked on a connection of its own (any process may answer)."""
    return [
        sample
        for family in text_string_to_metric_families(httpx2.get(f"{url}/metrics").text)
        for sample in family.samples
    ]


def total(samples: list, name: str, keep: Callable[[dict], bool] = lambda labels: True) -> float:
    return sum(sample.value for sample in samples if sample.name == name and keep(sample.labels))


def answers_per_process(folder: Path, scratch: Path) -> dict[str, float]:
    """The answers each server process counted, from its own file in the metrics folder."""
    found = {}
    for path in folder.glob("counter_*.db"):
        alone = scratch / path.stem
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        found[path.stem] = sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "relevo_answers_total"
        )
    return found


def test_two_server_processes_count_into_one_truth(tmp_path: Path, empty_database_url: str) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=empty_database_url, secret_key="x" * 40)
    load_trained_shop(settings)  # a popularity model, version 1, trained by one job
    environment = {
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_DATABASE_URL": empty_database_url,
        "RELEVO_SECRET_KEY": "x" * 40,
        "RELEVO_ADMIN_USERNAME": "admin",
        "RELEVO_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    with served(environment, tmp_path / "server.log", "--workers", "2") as server:
        wait_until(lambda: server.output().count("Application startup complete.") == 2, seconds=90, what="2 processes")
        sent = 0
        while len([n for n in answers_per_process(data / "prometheus", tmp_path).values() if n]) < 2:
            assert sent < MOST_REQUESTS, "one process answered every request"
            # A connection of its own each time: either process may take it.
            response = httpx2.get(f"{server.url}/api/recommendations/shopper-{sent}/", params={"count": 3})
            assert response.status_code == 200, response.text
            sent += 1
        token = httpx2.post(f"{server.url}/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        product = str(response.json()["recommendations"][0]["product_id"])
        clicked = {"user_id": f"shopper-{sent - 1}", "product_id": product, "interaction_type": "click"}
        assert httpx2.post(f"{server.url}/api/interaction/", json=clicked, headers=headers).status_code == 201

        for _ in range(6):  # each scrape may be either process's: the same figures
            samples = scraped(server.url)
            assert total(samples, "relevo_answers_total", lambda labels: labels["route"] == "smartcommerce") == sent
            assert total(samples, "relevo_model_deployed_version", lambda labels: labels["model"] == "default") == 1
            completed = total(samples, "relevo_jobs", lambda labels: labels == {"kind": "train", "status": "completed"})
            assert completed == 1
        wait_until(
            lambda: total(scraped(server.url), "relevo_exposures_total") == sent, seconds=10, what="exposures written"
        )
        traffic = scraped(server.url)
        counted = total(traffic, "relevo_http_requests_total", lambda labels: labels["route"] not in NOT_COUNTED)
        reads: list[dict] = []

        def every_request_written() -> bool:
            # Each read is a request too, written by the process that answered it within a second.
            reads.append(httpx2.get(f"{server.url}/api/performance-metrics/", headers=headers).json())
            return reads[-1]["performance"]["total_requests"] == counted + len(reads) - 1

        wait_until(every_request_written, seconds=15, what="every process's requests written")
        server.stop()

    found = reads[-1]
    assert found["realtime"] == {
        "recommendations_served_last_hour": sent,
        "clicks_last_hour": 1,
        "ctr_last_hour": 1 / sent,
    }
    assert found["performance"]["active_users"] == sent
