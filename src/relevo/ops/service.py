"""Health, readiness, system status and data statistics."""

from pathlib import Path

import psutil
import redis
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from relevo import __version__, migrations
from relevo.accounts.models import Account
from relevo.catalog.models import Product, Store
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.datasets.models import Dataset
from relevo.events import service as events_service
from relevo.ops.schemas import DiskStatus, Health, MemoryStatus, Readiness, Stats, SystemStatus
from relevo.users.models import User


def health() -> Health:
    return Health(status="healthy", version=__version__)


def readiness(*, database: Database, settings: Settings) -> Readiness:
    """Whether this replica can serve: database reachable and migrated, Redis reachable if used."""
    checks: dict[str, str] = {}
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = migrations.current_revision(connection)
        checks["database"] = "ok"
        head = migrations.head_revision()
        checks["migrations"] = "ok" if current == head else f"at {current}, expected {head}: run `relevo db upgrade`"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if settings.redis_url:
        try:
            with redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2) as client:
                client.ping()
            checks["redis"] = "ok"
        except redis.RedisError as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return Readiness(status="ready" if ready else "not ready", checks=checks)


def system_status(*, data_dir: Path) -> SystemStatus:
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(str(data_dir if data_dir.exists() else Path.cwd()))
    return SystemStatus(
        status="healthy",
        memory=MemoryStatus(
            total=memory.total, available=memory.available, percent=memory.percent, used=memory.used, free=memory.free
        ),
        cpu_usage=f"{psutil.cpu_percent(interval=0.1)}%",
        disk_usage=DiskStatus(total=disk.total, used=disk.used, free=disk.free, percent=disk.percent),
    )


def stats(*, session: Session) -> Stats:
    def count(query) -> int:
        return session.scalar(query) or 0

    by_type = events_service.count_by_type(session=session)
    return Stats(
        products=count(select(func.count()).select_from(Product).where(Product.deleted_at.is_(None))),
        stores=count(select(func.count()).select_from(Store)),
        users=count(select(func.count()).select_from(User)),
        events=sum(by_type.values()),
        events_by_type=by_type,
        datasets=count(select(func.count()).select_from(Dataset)),
        accounts=count(select(func.count()).select_from(Account)),
    )
