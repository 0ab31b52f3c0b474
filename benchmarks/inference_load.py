"""`GET /inference` over HTTP against `GET /health` in the same run: the CDNOW purchases imported
into a fresh SQLite shop as purchase events, the built-in customer-spend model trained by
`relevo train`, then `relevo serve --workers 2` asked for random customers' predictions
(features built from their purchases as of the day after the fitting weeks), alternating
rounds with /health."""

import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from benchmarks.cdnow import Purchases
from benchmarks.common import DEFAULT_POSTGRES_ADMIN_URL, create_api_key, fresh_database, relevo_server
from benchmarks.http_load import build_request, median, run_load
from relevo.accounts.models import Role

MODEL = "customer-spend"
AS_OF = "1997-10-01"


def inference_over_http(purchases: Purchases, *, rounds: int, seconds: float, connections: int) -> dict[str, float]:
    """Requests/s of /inference and /health (medians over `rounds` alternating rounds)."""
    folder = Path(tempfile.mkdtemp(prefix="relevo-inference-"))
    try:
        with fresh_database("sqlite", DEFAULT_POSTGRES_ADMIN_URL) as url:  # PostgreSQL is not asked for
            env = {**os.environ, "RELEVO_DATABASE_URL": url, "RELEVO_ARTIFACTS_DIR": str(folder / "models")}
            env["RELEVO_DATA_DIR"] = str(folder)
            _write_csvs(purchases, folder)
            for command in (
                ["import", "items", str(folder / "items.csv")],
                ["import", "interactions", str(folder / "purchases.csv")],
                ["train", "--name", MODEL, "--algorithm", "customer_spend", "--deploy", "always"],
            ):
                subprocess.run([sys.executable, "-m", "relevo", *command], env=env, check=True, capture_output=True)
            key = create_api_key(url, role=Role.viewer)
            with relevo_server(url, workers=2, extra_env={"RELEVO_ARTIFACTS_DIR": str(folder / "models")}) as port:
                host = f"127.0.0.1:{port}"
                headers = {"Authorization": f"Bearer {key}"}
                chooser = random.Random(7)
                query = f"/inference?model_name={MODEL}&model_version=1&purchase_date_id={AS_OF}&customer_id="
                inference = [
                    build_request("GET", f"{query}{chooser.randrange(purchases.customers) + 1}", host, headers)
                    for _ in range(5_000)
                ]
                health = [build_request("GET", "/health", host, {})]
                run_load("127.0.0.1", port, inference, connections=connections, seconds=2)  # predictor loaded, warm
                inference_runs, health_runs = [], []
                for _ in range(rounds):
                    health_runs.append(run_load("127.0.0.1", port, health, connections=connections, seconds=seconds))
                    inference_runs.append(
                        run_load("127.0.0.1", port, inference, connections=connections, seconds=seconds)
                    )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    statuses = Counter()
    for run in inference_runs:
        statuses.update(run.statuses)
    return {
        "inference": median([run.statuses[200] / run.seconds for run in inference_runs]),
        "health": median([run.rate for run in health_runs]),
        "inference_p50_ms": median([run.percentile(0.5) * 1000 for run in inference_runs]),
        "inference_p99_ms": median([run.percentile(0.99) * 1000 for run in inference_runs]),
        "statuses": dict(statuses),
    }


def _write_csvs(purchases: Purchases, folder: Path) -> None:
    """One product (a CD order) and every purchase, each with its amount, customers numbered 1..n."""
    (folder / "items.csv").write_text("product_id,name,category,price\nCD,A CD order,Music,0\n")
    epoch = date(1970, 1, 1)
    lines = ["user_id,product_id,event_type,timestamp,value"]
    for customer, day, amount in zip(purchases.customer, purchases.day, purchases.amount, strict=True):
        when = epoch + timedelta(days=int(day))
        lines.append(f"{int(customer) + 1},CD,purchase,{when.isoformat()}T12:00:00Z,{float(amount):.2f}")
    (folder / "purchases.csv").write_text("\n".join(lines) + "\n")


def print_rates(rates: dict[str, float], *, rounds: int, seconds: float, connections: int) -> None:
    print(
        f"\nGET /inference over HTTP (relevo serve --workers 2, SQLite, {connections} connections, "
        f"median of {rounds} rounds of {seconds:g} s, alternating with /health)"
    )
    print(
        f"  /inference {rates['inference']:,.0f} req/s (p50 {rates['inference_p50_ms']:.1f} ms, "
        f"p99 {rates['inference_p99_ms']:.1f} ms); /health {rates['health']:,.0f} req/s; "
        f"ratio {rates['inference'] / rates['health']:.2f}; statuses {rates['statuses']}"
    )
