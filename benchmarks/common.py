"""Shared pieces of the benchmark scripts: machine description, throwaway databases, a
`relevo serve` process, and timing helpers."""

import contextlib
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relevo import migrations
from relevo.accounts import service as accounts_service
from relevo.accounts.callers import Caller
from relevo.accounts.models import Role
from relevo.accounts.schemas import AccountCreate
from relevo.core.db import Database

CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def describe_machine(postgres_admin_url: str | None) -> str:
    lines = [
        f"machine: {platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, load average {os.getloadavg()[0]:.2f}",
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]
    if postgres_admin_url:
        with contextlib.suppress(Exception):
            engine = create_engine(postgres_admin_url)
            with engine.connect() as connection:
                lines.append(connection.execute(text("SELECT version()")).scalar().split(",")[0])
            engine.dispose()
    return "\n".join(lines)


@contextlib.contextmanager
def fresh_database(backend: str, postgres_admin_url: str) -> Iterator[str]:
    """A new, migrated database (a PostgreSQL database or a SQLite file), removed afterwards."""
    with _empty_database(backend, postgres_admin_url) as url:
        database = Database(url)
        migrations.upgrade(database.engine)
        database.dispose()
        yield url


@contextlib.contextmanager
def _empty_database(backend: str, postgres_admin_url: str) -> Iterator[str]:
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="relevo-bench-")
        try:
            yield f"sqlite:///{folder}/relevo.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin_url = make_url(postgres_admin_url)
    name = f"relevo_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def create_api_key(database_url: str, role: Role = Role.service) -> str:
    database = Database(database_url)
    with database.transaction() as session:
        account = accounts_service.create(
            session=session, data=AccountCreate(username=f"bench-{uuid.uuid4().hex[:6]}", password="x" * 12, role=role)
        )
        caller = Caller.of(account)
        _, secret = accounts_service.create_api_key(
            session=session, caller=caller, name="benchmark", scopes=caller.scopes, account_id=None
        )
    database.dispose()
    return secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def relevo_server(database_url: str, *, workers: int, extra_env: dict[str, str] | None = None) -> Iterator[int]:
    """`relevo serve` in a child process on a free port; yields the port once it answers. Rate
    limits are off unless `extra_env` turns them on: the benchmarks send thousands of requests a
    second from one address."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="relevo-serve-")
    env = {
        **os.environ,
        "RELEVO_DATABASE_URL": database_url,
        "RELEVO_DATA_DIR": data_dir,
        "RELEVO_LOG_LEVEL": "WARNING",
        "RELEVO_RATE_LIMITS": "false",
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "relevo", "serve", "--port", str(port), "--workers", str(workers)]
    log_path = Path(data_dir) / "server.log"
    # A file, not a pipe: a pipe nobody reads fills up and then blocks the server's logging.
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(port, process, log_path)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        logged = log_path.read_text().strip().splitlines()
        if logged:
            print(f"  (server logged {len(logged)} lines; last: {logged[-1][:200]})", flush=True)
        shutil.rmtree(data_dir, ignore_errors=True)


def _wait_until_up(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"relevo serve exited: {log_path.read_text()[-2000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response,
        ):
            if response.status == 200:
                time.sleep(1)  # let every worker process finish starting
                return
        time.sleep(0.2)
    raise RuntimeError("relevo serve did not answer within 60 s")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
