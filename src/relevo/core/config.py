"""Relevo's settings: one object, read from RELEVO_* environment variables and validated at start."""

import ipaddress
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from relevo.core.origins import origin_or_error
from relevo.core.rates import parse_rate
from relevo.core.secret_key import MIN_LENGTH, development_secret_key

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The Redis URLs the rate limits' counters may live at.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELEVO_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./relevo-data")
    database_url: str = ""  # empty means a SQLite file under data_dir
    redis_url: str | None = None

    # Signs access tokens. Unset, development uses a random key kept in data_dir (made on the
    # first start, see core/secret_key.py), so every process on that directory agrees on it.
    secret_key: str = Field(default="", repr=False)
    access_token_minutes: int = Field(default=60, ge=1)
    # How long a checked token is trusted without a new lookup (revocations elsewhere wait this long).
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    admin_self_demotion: bool = False  # whether an admin may demote or deactivate their own account
    admin_username: str | None = None
    admin_password: str | None = Field(default=None, repr=False)

    # The AI service's shared secret for the internal ingestion routes.
    client_secret: str | None = Field(default=None, repr=False)
    client_secret_header: str = "CLIENT-HEADER-SECRET"

    max_upload_mb: int = Field(default=100, ge=1)
    max_event_batch: int = Field(default=10_000, ge=1)
    base_currency: str = "USD"
    # Units of each currency per one unit of the base currency.
    currency_rates: dict[str, Decimal] = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}

    # Where jobs run: "local", a thread pool in each API process; "celery", `relevo worker`
    # processes anywhere, through Redis (RELEVO_REDIS_URL).
    executor: Literal["local", "celery"] = "local"
    celery_queue: str = "relevo"
    # A task whose worker died is given to another after this long (Redis's visibility timeout).
    celery_visibility_seconds: float = Field(default=300.0, gt=0)
    job_threads: int = Field(default=2, ge=0)  # jobs the local executor runs at once (0: in the caller)
    # A running job whose process has not written a heartbeat (every quarter of this, at most
    # 15 s) for this long is taken as interrupted and resumed by a live process (a server's
    # executor, a worker), as is a pending job nobody has taken for this long; a Celery batch
    # job that writes no chunk for this long has its chunks sent again by a worker.
    job_stale_seconds: float = Field(default=60.0, gt=0)
    # Jobs one account may have pending or running at once (jobs the system starts are exempt).
    max_pending_jobs: int = Field(default=10, ge=1)
    max_batch_users: int = Field(default=100_000, ge=1)  # user_ids one batch request may list
    batch_chunk_users: int = Field(default=5_000, ge=1)  # users a batch job computes and writes at a time
    batch_threads: int = Field(default=0, ge=0)  # threads scoring a chunk (0: one per core)
    ann_search_depth: int = Field(default=40, ge=1, le=4096)  # approximate jobs: higher finds more, slower

    serving_model: str = "default"  # the model name the recommendation routes serve
    artifacts_dir: Path | None = None  # where model artifacts go; data_dir/models if unset
    # The registry's files (trained and uploaded versions, addressed by their SHA-256): the
    # artifacts folder unless this names an fsspec URL (s3://bucket/relevo, gcs://..., file://...)
    # that every server and worker shares; files read from there are kept in artifacts_dir/cache.
    registry_url: str | None = None
    max_model_upload_mb: int = Field(default=500, ge=1)  # the model file and its artifacts, together
    # Uploaded pickle and joblib files run code when loaded: refused unless this is true, and then
    # only from admins.
    allow_pickle_models: bool = False
    train_threads: int = Field(default=0, ge=0)  # threads a training job uses (0: one per core)
    # Memory one training may use, in MiB; a training estimated to need more is refused (0: the
    # memory the machine has available when the training is asked for, and again when it starts).
    train_memory_mb: int = Field(default=0, ge=0)
    # Each known user's best items ranked at training time, for answers without a computation
    # while the user has no new events (0: rank every answer when asked).
    precompute_count: int = Field(default=100, ge=0, le=1000)
    # A new version deploys itself if not worse on this offline metric.
    deploy_gate_metric: Literal["ndcg", "precision", "recall", "map", "mrr", "hit_rate", "coverage"] = "ndcg"
    deploy_gate_tolerance: float = Field(default=0.0, ge=0, le=1)  # relative drop allowed
    retrain_interval_minutes: float = Field(default=0, ge=0)  # 0: no periodic retraining by time
    retrain_min_new_events: int = Field(default=0, ge=0)  # 0: none by the number of new events
    retrain_check_seconds: float = Field(default=60.0, gt=0)  # how often a scheduler looks if retraining is due
    # Who looks: "api", a thread of every API process; "process", only `relevo scheduler`
    # processes. Either way one training runs at a time, however many look.
    scheduler: Literal["api", "process"] = "api"
    model_refresh_seconds: float = Field(default=2.0, ge=0)  # how often servers look for a new deploy
    models_in_memory: int = Field(default=8, ge=1)  # model names each server keeps loaded
    # How often servers look for catalog changes (a product deleted, out of stock, re-priced).
    catalog_refresh_seconds: float = Field(default=1.0, ge=0)
    # How often servers look for experiments started, paused or stopped, and shoppers erased.
    experiments_refresh_seconds: float = Field(default=1.0, ge=0)
    public_recommendations: bool = True  # recommendation reads without a token
    # Answers kept for the same question (user, options, model version, catalog snapshot and the
    # user's events): how many, and for how long at most. 0 turns keeping answers off.
    answer_cache_size: int = Field(default=50_000, ge=0)
    answer_cache_seconds: float = Field(default=60.0, ge=0)

    # Online metrics: every answer that serves a person recorded as an exposure, and requests
    # counted per minute and route, both in the database (answers inside experiments are
    # recorded either way: their results need them).
    online_metrics: bool = True
    # Answers outside experiments, and request statistics, older than this are deleted (0: kept).
    exposure_retention_days: float = Field(default=30.0, ge=0)
    # How long after an answer outside an experiment a click, add-to-cart or purchase of one of
    # its products counts for it when the event does not carry the answer's recommendation_id.
    attribution_hours: float = Field(default=24.0, gt=0, le=24 * 90)

    # Rate limits per caller (an API key or account, else the client address), each a rate such
    # as 100/minute; docs/operations.md, "Rate limits". False turns every limit off.
    rate_limits: bool = True
    rate_limit_api: str = "100/minute"  # every limited request
    rate_limit_training: str = "10/hour"  # requests that start a training
    rate_limit_bulk: str = "5/hour"  # dataset uploads, batch jobs, event batches over 1,000 events
    # Each shopper a publishable key's request names (events' user_id, the path's), with that key.
    rate_limit_shopper: str = "60/minute"
    # Where the counters live: "memory" (each server process counts alone) or a Redis URL (every
    # replica shares the counts). Unset: Redis at redis_url when that is set, else memory.
    rate_limit_storage: str | None = None
    rate_limit_key_prefix: str = "relevo"  # of the counters' Redis keys (installations sharing one Redis)
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses or networks).
    # None by default: the client is the address the connection comes from.
    trusted_proxies: str = ""
    # Web pages allowed to call the API from a browser (CORS): comma-separated origins such as
    # https://shop.example. None by default (the origins of publishable keys are allowed too).
    cors_origins: str = ""

    # `relevo serve --workers N`: how long a worker process may take to answer its supervisor's
    # health checks, and at a restart (SIGHUP) to start serving, before uvicorn kills it.
    worker_healthcheck_seconds: int = Field(default=30, ge=1)

    log_level: str = "INFO"

    @field_validator("rate_limit_api", "rate_limit_training", "rate_limit_bulk", "rate_limit_shopper")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse_rate(value)
        return value.strip()

    @field_validator("rate_limit_storage")
    @classmethod
    def _a_storage(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if value != "memory" and not value.startswith(REDIS_SCHEMES):
            raise ValueError(f"{value!r} is neither memory nor a Redis URL (redis://host:6379/0)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in _entries(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (10.0.0.0/8, 2001:db8::/32)") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for entry in _entries(value):
            origin_or_error(entry)
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.env == "production" and not self.secret_key:
            raise ValueError("RELEVO_SECRET_KEY must be set to a private value when RELEVO_ENV=production")
        if self.env == "production" and len(self.secret_key) < MIN_LENGTH:
            raise ValueError(f"RELEVO_SECRET_KEY must be at least {MIN_LENGTH} characters in production")
        if bool(self.admin_username) != bool(self.admin_password):
            raise ValueError("RELEVO_ADMIN_USERNAME and RELEVO_ADMIN_PASSWORD must be set together")
        self.base_currency = self.base_currency.upper()
        self.currency_rates = {code.upper(): rate for code, rate in self.currency_rates.items()}
        if self.base_currency not in self.currency_rates:
            self.currency_rates[self.base_currency] = Decimal("1")
        return self

    @model_validator(mode="after")
    def _development_secret_key(self) -> "Settings":
        # After the production checks: production never reaches this without a key of its own.
        if not self.secret_key:
            self.secret_key = development_secret_key(self.data_dir)
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'relevo.db').resolve()}"

    def environment(self, *names: str) -> dict[str, str]:
        """These settings as the RELEVO_* variables that hand them to a process started from
        this one (a worker a test or benchmark starts)."""
        return {f"RELEVO_{name.upper()}": str(getattr(self, name)) for name in names}

    @property
    def resolved_rate_limit_storage(self) -> str:
        """Where the rate limits' counters live: "memory" or a Redis URL."""
        return self.rate_limit_storage or self.redis_url or "memory"

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in _entries(self.trusted_proxies))

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(origin_or_error(entry) for entry in _entries(self.cors_origins))

    @property
    def resolved_artifacts_dir(self) -> Path:
        return self.artifacts_dir or self.data_dir / "models"

    @property
    def max_model_upload_bytes(self) -> int:
        return self.max_model_upload_mb * 1024 * 1024

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def _entries(listed: str) -> list[str]:
    return [entry.strip() for entry in listed.split(",") if entry.strip()]
