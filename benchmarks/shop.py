"""The serving benchmarks' shop: a demo shop of a given size, the hybrid trained and deployed
on it through the registry, and the users to ask for (some the model never saw)."""

import random
import time

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.demo import ShopSize, SyntheticShop
from relevo.job_kinds import HANDLERS
from relevo.jobs import runner
from relevo.registry import service as registry_service

MODEL = "default"


def shop_size(products: int, events: int) -> ShopSize:
    """A shop of `products` products whose sessions add up to about `events` events (the
    events per session measured on a sample of the same generator)."""
    sample = ShopSize(stores=8, products=products, users=2_000, sessions=2_000, days=90, seed=5)
    per_session = sum(1 for _ in SyntheticShop(sample).events()) / sample.sessions
    sessions = int(events / per_session)
    return ShopSize(stores=8, products=products, users=max(1_000, sessions // 5), sessions=sessions, days=90, seed=5)


def with_strangers(known: list[str], total: int, prefix: str) -> list[str]:
    """`known` users and as many users the model never saw as make `total` (about 10%), shuffled."""
    users = known[: total * 9 // 10]
    users += [f"{prefix}-{n}" for n in range(total - len(users))]
    random.Random(4).shuffle(users)
    return users


def train(database: Database, settings: Settings, name: str, algorithm: str, config: dict | None = None) -> float:
    """Trains `algorithm` as model `name` through the registry, as `relevo train` does, deploys it
    whatever its metrics, and answers the seconds the job took."""
    params = {"dataset_ids": [], "deploy": "always", "evaluation": "random", "seed": 0}
    with database.transaction() as session:
        _, job = registry_service.start_training(
            session=session,
            settings=settings,
            name=name,
            algorithm=algorithm,
            config=config or {},
            params=params,
            created_by=None,
        )
        job_id = job.id
    started = time.perf_counter()
    runner.run(database, settings, job_id, handlers=HANDLERS)
    return time.perf_counter() - started


def deploy_hybrid(database: Database, settings: Settings) -> None:
    """Trains the hybrid through the registry, as `relevo train` does, and deploys it."""
    seconds = train(database, settings, MODEL, "hybrid")
    with database.session(write=False) as session:
        deployed = registry_service.deployed(session=session, name=MODEL)
    assert deployed is not None, "the hybrid did not deploy"
    print(f"hybrid trained (holdout fit, evaluation, final fit) and deployed in {seconds:.0f} s")
    print(f"  offline metrics: { ({k: round(v, 4) for k, v in deployed.metrics.items()}) }", flush=True)
