"""The `relevo` command: db upgrade/current, createadmin, import and demo, each against a fresh
database of its own (these commands commit, so they never touch the rolled-back test database),
and which modules its help and its light commands load."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import typer
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from relevo import migrations
from relevo.accounts.models import Account, Role
from relevo.catalog.models import Product, Store
from relevo.cli import app
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.datasets.models import Dataset
from relevo.events.models import Event
from relevo.server.app import create_app
from relevo.users.models import User
from tests.conftest import new_postgres_database

PASSWORD = "a-long-admin-password"
SECRET_KEY = "cli-test-secret-key-long-enough-for-jwt"


@pytest.fixture
def environment(empty_database_url: str, tmp_path: Path) -> dict[str, str | None]:
    return environment_for(empty_database_url, tmp_path)


def environment_for(database_url: str, tmp_path: Path) -> dict[str, str | None]:
    return {
        "RELEVO_DATA_DIR": str(tmp_path / "data"),
        "RELEVO_DATABASE_URL": database_url,
        "RELEVO_ENV": "development",
        "RELEVO_SECRET_KEY": SECRET_KEY,
        "RELEVO_ADMIN_USERNAME": None,
        "RELEVO_ADMIN_PASSWORD": None,
        "RELEVO_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }


def invoke(environment: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=environment)


def run(environment: dict[str, str | None], *args: str) -> str:
    """Runs a command that must succeed; returns what it printed."""
    result = invoke(environment, *args)
    assert result.exit_code == 0, f"relevo {' '.join(args)} failed:\n{result.output}\n{result.exception!r}"
    return result.output


@pytest.fixture
def migrated(environment: dict[str, str | None]) -> dict[str, str | None]:
    run(environment, "db", "upgrade")
    return environment


@contextmanager
def opened(url: str) -> Iterator[Database]:
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


def counts(url: str, *models: type) -> list[int]:
    with opened(url) as database, database.session(write=False) as session:
        return [session.scalar(select(func.count()).select_from(model)) for model in models]


def write_csv(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# db


def test_db_upgrade_brings_an_empty_database_to_the_head_revision(
    environment: dict[str, str | None], empty_database_url: str
) -> None:
    head = migrations.head_revision()
    assert run(environment, "db", "current").strip() == "empty"
    assert run(environment, "db", "upgrade").strip() == f"database at revision {head}"
    assert run(environment, "db", "current").strip() == head
    assert run(environment, "db", "upgrade").strip() == f"database at revision {head}"
    assert counts(empty_database_url, Account, Event) == [0, 0]


@pytest.mark.parametrize(
    "command", [["demo"], ["train"], ["createadmin", "--username", "boss", "--password", PASSWORD]]
)
def test_commands_on_an_empty_postgresql_database_say_to_migrate_first(tmp_path: Path, command: list[str]) -> None:
    """SQLite migrates by itself; PostgreSQL is migrated as a deploy step, and until then the
    commands that need tables say so (not a traceback)."""
    with new_postgres_database() as url:
        result = invoke(environment_for(url, tmp_path), *command)

    assert result.exit_code == 1, result.output
    assert "the postgresql database has no schema yet: run `relevo db upgrade` first" in result.output
    assert "Traceback" not in result.output


def test_without_a_database_url_the_database_is_a_file_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    environment = {
        "RELEVO_DATA_DIR": str(data_dir),
        "RELEVO_DATABASE_URL": None,
        "RELEVO_SECRET_KEY": SECRET_KEY,
        "RELEVO_LOG_LEVEL": "WARNING",
    }
    run(environment, "db", "upgrade")
    assert (data_dir / "relevo.db").is_file()
    assert run(environment, "db", "current").strip() == migrations.head_revision()


def test_without_a_secret_key_a_command_keeps_the_development_key_and_says_where(
    environment: dict[str, str | None], tmp_path: Path
) -> None:
    key_file = tmp_path / "data" / "secret_key"

    output = run({**environment, "RELEVO_SECRET_KEY": None}, "db", "upgrade")

    assert f"RELEVO_SECRET_KEY is not set: tokens are signed with the development key in {key_file}" in output
    assert Settings(data_dir=tmp_path / "data").secret_key == key_file.read_text().strip()


def test_production_without_a_secret_key_stops_with_a_message(environment: dict[str, str | None]) -> None:
    result = invoke({**environment, "RELEVO_ENV": "production", "RELEVO_SECRET_KEY": None}, "db", "current")

    assert result.exit_code == 1, result.output
    assert "RELEVO_SECRET_KEY must be set to a private value when RELEVO_ENV=production" in result.output
    assert "Traceback" not in result.output


# createadmin


def test_createadmin_makes_an_admin_who_can_log_in(
    migrated: dict[str, str | None], empty_database_url: str, tmp_path: Path
) -> None:
    output = run(migrated, "createadmin", "--username", "boss", "--password", PASSWORD)
    assert "admin 'boss' created" in output
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=empty_database_url,
        secret_key=SECRET_KEY,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wrong = client.post("/login", params={"username": "boss", "password": "not-the-password"})
        assert wrong.status_code == 401, wrong.text
        login = client.post("/login", params={"username": "boss", "password": PASSWORD})
        assert login.status_code == 200, login.text
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["role"]) == ("boss", Role.admin)


def test_createadmin_refuses_a_taken_username_with_a_message(migrated: dict[str, str | None]) -> None:
    run(migrated, "createadmin", "--username", "boss", "--password", PASSWORD)
    result = invoke(migrated, "createadmin", "--username", "boss", "--password", PASSWORD)
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert "Traceback" not in result.output


def test_createadmin_refuses_a_short_password_with_a_message(migrated: dict[str, str | None]) -> None:
    result = invoke(migrated, "createadmin", "--username", "boss", "--password", "short")
    assert result.exit_code != 0
    assert "password" in result.output
    assert "Traceback" not in result.output


# import


def test_import_interactions_prints_counts_and_rejected_lines(
    migrated: dict[str, str | None], empty_database_url: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "events.csv",
        "user_id,product_id,event_type,timestamp,event_id",
        "u1,p1,view,2024-03-01T12:00:00Z,e1",
        ",p2,view,,",
        "u2,p2,purchase,1709294400,e2",
        "u2,p2,purchase,1709294400,e2",
        "u3,p3,view,someday,",
    )
    output = run(migrated, "import", "interactions", str(path))
    assert "dataset 1: 2 rows imported, 2 rejected, 1 duplicates" in output
    assert "line 3: user_id: is empty" in output
    assert "line 6: timestamp: 'someday'" in output
    assert counts(empty_database_url, Event, User, Product, Dataset) == [2, 2, 2, 1]
    with opened(empty_database_url) as database, database.session(write=False) as session:
        dataset = session.scalar(select(Dataset))
        assert (dataset.filename, dataset.uploaded_by, dataset.status) == ("events.csv", None, "imported")
        assert set(session.scalars(select(Event.dataset_id))) == {dataset.id}


def test_import_items_and_users(migrated: dict[str, str | None], empty_database_url: str, tmp_path: Path) -> None:
    items = write_csv(tmp_path, "items.csv", "product_id,name,category,price,brand", "sku-1,Lamp,Lamps,9.999,Lumen")
    users = write_csv(tmp_path, "users.csv", "user_id,segment", "u1,vip", "u2,new")
    assert "1 rows imported, 0 rejected" in run(migrated, "import", "items", str(items))
    assert "2 rows imported, 0 rejected" in run(migrated, "import", "users", str(users))
    with opened(empty_database_url) as database, database.session(write=False) as session:
        lamp = session.scalar(select(Product).where(Product.external_id == "sku-1"))
        assert (lamp.name, lamp.category, str(lamp.price), lamp.attributes) == (
            "Lamp",
            "Lamps",
            "10.00",
            {"brand": "Lumen"},
        )
        assert dict(session.execute(select(User.external_id, User.attributes)).all()) == {
            "u1": {"segment": "vip"},
            "u2": {"segment": "new"},
        }


def test_import_of_a_file_with_a_bad_header_fails_with_the_reason(
    migrated: dict[str, str | None], empty_database_url: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "events.csv", "user_id,item_id", "u1,p1")
    result = invoke(migrated, "import", "interactions", str(path))
    assert result.exit_code != 0
    assert "missing: product_id" in result.output
    assert counts(empty_database_url, Dataset, Event, User) == [0, 0, 0]


def test_import_refuses_a_file_imported_before_unless_asked(
    migrated: dict[str, str | None], empty_database_url: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "events.csv", "user_id,product_id", "u1,p1", "u2,p1")
    run(migrated, "import", "interactions", str(path))

    again = invoke(migrated, "import", "interactions", str(path))

    assert again.exit_code != 0
    assert "was imported as dataset 1 at" in again.output
    assert "--allow-duplicate" in again.output
    assert counts(empty_database_url, Dataset, Event) == [1, 2]
    output = run(migrated, "import", "interactions", str(path), "--allow-duplicate")
    assert "dataset 2: 2 rows imported" in output
    assert counts(empty_database_url, Dataset, Event) == [2, 4]


def test_import_refuses_a_missing_file_or_an_unknown_type(migrated: dict[str, str | None], tmp_path: Path) -> None:
    missing = invoke(migrated, "import", "interactions", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    path = write_csv(tmp_path, "events.csv", "user_id,product_id", "u1,p1")
    unknown = invoke(migrated, "import", "orders", str(path))
    assert unknown.exit_code == 2
    assert "orders" in unknown.output


# demo


def test_demo_loads_a_shop_once(migrated: dict[str, str | None], empty_database_url: str) -> None:
    output = run(migrated, "demo", "--products", "200", "--users", "50", "--sessions", "300")
    assert "demo shop loaded: 4 stores, 200 products" in output
    stores, products, events, users = counts(empty_database_url, Store, Product, Event, User)
    assert (stores, products) == (4, 200)
    assert 0 < users <= 50
    assert events >= 300
    assert f"{events} events" in output
    again = run(migrated, "demo", "--products", "200", "--users", "50", "--sessions", "300")
    assert "already loaded" in again
    assert counts(empty_database_url, Store, Product, Event) == [stores, products, events]


def test_the_demo_trains_the_customer_spend_model_and_inference_answers_at_once(
    migrated: dict[str, str | None], empty_database_url: str, tmp_path: Path
) -> None:
    output = run(migrated, "demo", "--products", "200", "--users", "50", "--sessions", "300")
    assert "trained and deployed customer-spend version 1" in output
    with opened(empty_database_url) as database, database.session(write=False) as session:
        buyer = session.scalar(
            select(User.external_id).join(Event, Event.user_id == User.id).where(Event.event_type == "purchase")
        )
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_database_url, secret_key=SECRET_KEY)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        login = client.post("/login", params={"username": "admin", "password": "relevo-admin"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        params = {"model_name": "customer-spend", "model_version": "1", "customer_id": buyer}
        today = client.get(
            "/inference", params={**params, "purchase_date_id": date.today().isoformat()}, headers=headers
        )
        before_any = client.get("/inference", params={**params, "purchase_date_id": "20000101"}, headers=headers)
        served = client.get("/api/v1/recommendations/U000001", params={"count": 3})
    assert today.status_code == 200, today.text
    assert today.json()["prediction"] > 0
    assert before_any.status_code == 200, before_any.text
    assert served.status_code == 200 and served.json()["model"]["name"] == "default"  # predictors never serve lists


def test_train_makes_a_customer_spend_version(migrated: dict[str, str | None]) -> None:
    run(migrated, "demo", "--products", "200", "--users", "50", "--sessions", "300")
    output = run(migrated, "train", "--name", "customer-spend", "--algorithm", "customer_spend", "--deploy", "always")
    assert "customer-spend version 2 (customer_spend): deployed" in output


# train


def test_train_prints_why_the_version_was_or_was_not_deployed(migrated: dict[str, str | None]) -> None:
    run(migrated, "demo", "--products", "200", "--users", "50", "--sessions", "300")  # deploys version 1, a hybrid

    routine = run(migrated, "train")

    assert "default version 2 (hybrid): deployed" in routine
    assert (
        "version 2 of 'default' trained and deployed: a routine retrain with version 1's algorithm and settings"
        in routine
    )
    other = run(migrated, "train", "--algorithm", "popular")
    assert "default version 3 (popular): " in other
    assert "version 3 of 'default' trained and " in other
    assert "against version 2's " in other and "on the same " in other and "a drop up to " in other


# what a run loads

ENGINE_MODULES = {"relevo.engine", "scipy", "sklearn", "implicit", "faiss"}
APP_MODULES = {"relevo.api", "fastapi", "starlette"}
HEAVY_MODULES = ENGINE_MODULES | APP_MODULES | {"numpy", "sqlalchemy", "alembic"}

RUN_AND_LIST_MODULES = """
import json, sys
from relevo.command import main
report, sys.argv[1:] = sys.argv[1], sys.argv[2:]
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
with open(report, "w") as file:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, file)
"""


def loaded(tmp_path: Path, environment: dict[str, str | None], *args: str) -> tuple[int, set[str]]:
    """Runs `relevo *args` in a process of its own; its exit code and the modules it had loaded."""
    report = tmp_path / "modules.json"
    variables = {name: value for name, value in os.environ.items() if not name.startswith("RELEVO_")}
    variables |= {name: value for name, value in environment.items() if value is not None}
    command = [sys.executable, "-c", RUN_AND_LIST_MODULES, str(report), *args]
    child = subprocess.run(command, env=variables, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    result = json.loads(report.read_text())
    return result["exit"], set(result["modules"])


def among(modules: set[str], packages: set[str]) -> set[str]:
    """Those of `modules` that are one of `packages` or inside one."""
    return {
        module
        for module in modules
        if any(module == package or module.startswith(f"{package}.") for package in packages)
    }


def every_command(group: typer.Typer) -> list[tuple[str, ...]]:
    def paths(command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, subcommand in getattr(command, "commands", {}).items():
            yield from paths(subcommand, (*path, name))

    return list(paths(typer.main.get_command(group), ()))


@pytest.mark.parametrize("command", every_command(app), ids=lambda command: " ".join(command) or "relevo")
def test_the_help_of_every_command_loads_neither_the_engine_nor_the_app_nor_the_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    exit_code, modules = loaded(tmp_path, {}, *command, "--help")

    assert exit_code == 0
    assert among(modules, HEAVY_MODULES) == set()


def test_the_database_commands_load_neither_the_engine_nor_the_app(
    environment: dict[str, str | None], tmp_path: Path
) -> None:
    """They still load numpy, which the batch results' table uses."""
    users = write_csv(tmp_path, "users.csv", "user_id", "u1")
    for command in (
        ["db", "upgrade"],
        ["db", "current"],
        ["createadmin", "--username", "boss", "--password", PASSWORD],
        ["import", "users", str(users)],
    ):
        exit_code, modules = loaded(tmp_path, environment, *command)

        assert exit_code == 0, command
        assert among(modules, ENGINE_MODULES | APP_MODULES) == set(), command
