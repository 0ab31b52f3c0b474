"""Whether a training fits in the memory it may use: the size of the data (upper bounds that
cost no scan of the events), the engine's estimate for the algorithm and its config, and the
memory at hand (RELEVO_TRAIN_MEMORY_MB, or what the machine has available, within its container's
limit)."""

from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.orm import Session

from relevo.catalog import service as catalog_service
from relevo.core.config import Settings
from relevo.core.errors import TooLarge
from relevo.engine.memory import DataSize, training_bytes
from relevo.events import service as events_service
from relevo.users import service as users_service

_CGROUP = Path("/sys/fs/cgroup")  # cgroup v2: a container's memory limit and use


def data_size(*, session: Session) -> DataSize:
    """At least as many users, items and events as a training of every event would see."""
    items, _ = catalog_service.catalog_revision(session=session)
    return DataSize(
        users=users_service.highest_id(session=session),
        items=items,
        events=events_service.latest_event_id(session=session),
    )


def check_fits(*, session: Session, settings: Settings, algorithm: str, config: Any) -> None:
    """Raises TooLarge, with the estimate, if training `algorithm` with `config` (the engine's
    config object) on the stored data would need more memory than a training may use."""
    size = data_size(session=session)
    needed = training_bytes(algorithm, config, size, ranked_ahead=settings.precompute_count)
    available = memory_for_training(settings)
    if needed > available:
        raise TooLarge(
            f"config: training {algorithm} on {size.users:,} users, {size.items:,} items and "
            f"{size.events:,} events needs about {_size(needed)} of memory, more than the {_size(available)} "
            "a training may use here (RELEVO_TRAIN_MEMORY_MB, or the memory available); lower the settings "
            "that size it (embedding_dim, neighbours, max_items, clusters, ...) or choose another algorithm"
        )


def memory_for_training(settings: Settings) -> int:
    """Bytes a training may use: RELEVO_TRAIN_MEMORY_MB, or what is available now."""
    if settings.train_memory_mb:
        return settings.train_memory_mb * 2**20
    available = psutil.virtual_memory().available
    headroom = _container_headroom()
    return available if headroom is None else min(available, headroom)


def _container_headroom() -> int | None:
    """What the process's cgroup may still take (its limit less what it holds, page cache it
    can drop aside), or None without a limit. Inside a container psutil sees the host's memory."""
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((_CGROUP / "memory.current").read_text())
        stat = dict(line.split() for line in (_CGROUP / "memory.stat").read_text().splitlines())
    except (OSError, ValueError):
        return None
    return max(0, int(limit) - used + int(stat.get("inactive_file", 0)))


def _size(count: int) -> str:
    return f"{count / 2**30:,.1f} GiB" if count >= 2**30 else f"{count / 2**20:,.0f} MiB"
