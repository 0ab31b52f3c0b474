"""Settings: read from RELEVO_* variables, safe defaults, and refusals of unsafe production set-ups."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from relevo.core.config import Settings

PRIVATE_KEY = "k3y-" + "x" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No RELEVO_* variable and no .env file of the machine running the tests leaks in."""
    for name in os.environ:
        if name.startswith("RELEVO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_run_in_development(tmp_path: Path) -> None:
    settings = Settings()

    assert settings.env == "development"
    assert len(settings.secret_key) >= 32
    assert settings.redis_url is None
    assert settings.max_upload_mb == 100
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'relevo-data' / 'relevo.db'}"


def test_the_default_database_is_a_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "shop")

    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'shop' / 'relevo.db'}"


def test_an_explicit_database_url_wins() -> None:
    url = "postgresql+psycopg://relevo@db.internal/relevo"

    assert Settings(database_url=url).resolved_database_url == url


def test_settings_are_read_from_relevo_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEVO_MAX_UPLOAD_MB", "7")
    monkeypatch.setenv("RELEVO_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("RELEVO_ACCESS_TOKEN_MINUTES", "15")

    settings = Settings()

    assert settings.max_upload_mb == 7
    assert settings.max_upload_bytes == 7 * 1024 * 1024
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.access_token_minutes == 15


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RELEVO_CLIENT_SECRET=from-dotenv\n")

    assert Settings().client_secret == "from-dotenv"


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(ValidationError, match="RELEVO_SECRET_KEY"):
        Settings(env="production")


def test_production_refuses_the_default_secret_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEVO_ENV", "production")

    with pytest.raises(ValidationError, match="RELEVO_SECRET_KEY"):
        Settings()


def test_production_refuses_a_short_secret_key() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(env="production", secret_key="short-but-private")


def test_production_accepts_a_long_private_secret_key() -> None:
    settings = Settings(env="production", secret_key=PRIVATE_KEY)

    assert settings.env == "production"
    assert settings.secret_key == PRIVATE_KEY


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError, match="env"):
        Settings(env="staging")


@pytest.mark.parametrize(
    "admin", [{"admin_username": "root"}, {"admin_password": "a-long-password"}], ids=["no password", "no username"]
)
def test_the_admin_needs_both_username_and_password(admin: dict) -> None:
    with pytest.raises(ValidationError, match="RELEVO_ADMIN_USERNAME and RELEVO_ADMIN_PASSWORD"):
        Settings(**admin)


def test_an_admin_with_username_and_password_is_accepted() -> None:
    settings = Settings(admin_username="root", admin_password="a-long-password")

    assert (settings.admin_username, settings.admin_password) == ("root", "a-long-password")


def test_currency_codes_are_upper_cased() -> None:
    settings = Settings(base_currency="eur", currency_rates={"usd": "1.09", "gbp": "0.86"})

    assert settings.base_currency == "EUR"
    assert settings.currency_rates == {"USD": Decimal("1.09"), "GBP": Decimal("0.86"), "EUR": Decimal("1")}


def test_the_base_currency_keeps_its_configured_rate() -> None:
    settings = Settings(base_currency="usd")

    assert settings.currency_rates["USD"] == Decimal("1")
    assert set(settings.currency_rates) == {"USD", "EUR", "GBP"}


@pytest.mark.parametrize("field", ["max_upload_mb", "max_event_batch", "access_token_minutes"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: 0})
