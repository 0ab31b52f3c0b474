"""Relevo's settings: one object, read from RELEVO_* environment variables and validated at start."""

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "relevo-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELEVO_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./relevo-data")
    database_url: str = ""  # empty means a SQLite file under data_dir
    redis_url: str | None = None

    secret_key: str = DEFAULT_SECRET_KEY
    access_token_minutes: int = Field(default=60, ge=1)
    # How long a checked token is trusted without a new lookup (revocations elsewhere wait this long).
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    admin_username: str | None = None
    admin_password: str | None = None

    client_secret: str | None = None  # seed 003's shared secret for internal ingestion routes
    client_secret_header: str = "CLIENT-HEADER-SECRET"

    max_upload_mb: int = Field(default=100, ge=1)
    max_event_batch: int = Field(default=10_000, ge=1)
    base_currency: str = "USD"
    # Units of each currency per one unit of the base currency.
    currency_rates: dict[str, Decimal] = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.env == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError("RELEVO_SECRET_KEY must be set to a private value when RELEVO_ENV=production")
        if self.env == "production" and len(self.secret_key) < 32:
            raise ValueError("RELEVO_SECRET_KEY must be at least 32 characters in production")
        if bool(self.admin_username) != bool(self.admin_password):
            raise ValueError("RELEVO_ADMIN_USERNAME and RELEVO_ADMIN_PASSWORD must be set together")
        self.base_currency = self.base_currency.upper()
        self.currency_rates = {code.upper(): rate for code, rate in self.currency_rates.items()}
        if self.base_currency not in self.currency_rates:
            self.currency_rates[self.base_currency] = Decimal("1")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'relevo.db').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024
