"""The development signing key: without RELEVO_SECRET_KEY, a random key made once and kept in the
data directory (readable by its owner only), which every later process there reads."""

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from relevo.accounts.models import Account, Role
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.secret_key import FILE_NAME
from relevo.server.app import create_app
from tests.conftest import PASSWORD

EXPLICIT_KEY = "an-explicit-key-" + "x" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No RELEVO_* variable and no .env file of the machine running the tests leaks in."""
    for name in os.environ:
        if name.startswith("RELEVO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_without_a_key_development_makes_one_only_its_owner_may_read(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    key_file = tmp_path / "data" / FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == settings.secret_key
    assert len(settings.secret_key) >= 32


def test_the_kept_key_is_read_again_at_the_next_start(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path)
    again = Settings(data_dir=tmp_path)
    elsewhere = Settings(data_dir=tmp_path / "another")

    assert again.secret_key == first.secret_key
    assert elsewhere.secret_key != first.secret_key


def test_a_warning_names_the_key_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="relevo.config"):
        Settings(data_dir=tmp_path)

    [record] = [record for record in caplog.records if record.name == "relevo.config"]
    assert record.levelno == logging.WARNING
    assert str((tmp_path / FILE_NAME).resolve()) in record.getMessage()
    assert "RELEVO_SECRET_KEY" in record.getMessage()


def test_an_explicit_key_wins_and_no_file_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Settings(data_dir=tmp_path)  # a key kept from earlier development runs
    monkeypatch.setenv("RELEVO_SECRET_KEY", EXPLICIT_KEY)

    assert Settings(data_dir=tmp_path).secret_key == EXPLICIT_KEY
    assert Settings(data_dir=tmp_path / "fresh").secret_key == EXPLICIT_KEY
    assert not (tmp_path / "fresh").exists()


def test_production_refuses_to_start_without_a_key_and_makes_none(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="RELEVO_SECRET_KEY must be set"):
        Settings(env="production", data_dir=tmp_path)

    assert not (tmp_path / FILE_NAME).exists()


def test_production_does_not_take_a_kept_development_key(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path)

    with pytest.raises(ValidationError, match="RELEVO_SECRET_KEY must be set"):
        Settings(env="production", data_dir=tmp_path)


def test_a_key_file_other_users_may_read_is_refused(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path)
    (tmp_path / FILE_NAME).chmod(0o644)

    with pytest.raises(ValidationError, match="chmod 600"):
        Settings(data_dir=tmp_path)


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("")
    (tmp_path / FILE_NAME).chmod(0o600)

    with pytest.raises(ValidationError, match="no usable key"):
        Settings(data_dir=tmp_path)


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    """Server workers and commands start at once on a new data directory: one key wins for all."""
    program = "from relevo.core.config import Settings; print(Settings().secret_key)"
    environment = {**os.environ, "RELEVO_DATA_DIR": str(tmp_path / "data")}
    processes = [
        subprocess.Popen([sys.executable, "-c", program], env=environment, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}

    assert keys == {(tmp_path / "data" / FILE_NAME).read_text().strip()}
    assert [path.name for path in (tmp_path / "data").iterdir()] == [FILE_NAME]  # no partial file left


def test_a_token_stays_valid_when_the_server_restarts(
    tmp_path: Path, database: Database, make_account: Callable[..., Account]
) -> None:
    account = make_account(Role.viewer)
    with TestClient(create_app(Settings(data_dir=tmp_path), database=database)) as client:
        token = client.post("/login", params={"username": account.username, "password": PASSWORD}).json()
    with TestClient(create_app(Settings(data_dir=tmp_path), database=database)) as restarted:
        me = restarted.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})

    assert me.status_code == 200, me.text
    assert me.json()["username"] == account.username
