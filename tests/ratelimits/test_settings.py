"""The rate-limit settings: the SmartCommerce API's defaults, where the counters live, and a bad
value refused at start, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from relevo.core.config import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in os.environ:
        if name.startswith("RELEVO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_defaults_are_the_smartcommerce_apis() -> None:
    settings = Settings()

    assert settings.rate_limits is True
    assert (settings.rate_limit_api, settings.rate_limit_training, settings.rate_limit_bulk) == (
        "100/minute",
        "10/hour",
        "5/hour",
    )
    assert settings.resolved_rate_limit_storage == "memory"
    assert settings.trusted_proxy_networks == ()


def test_the_counters_go_to_redis_when_there_is_one_unless_told_otherwise() -> None:
    assert Settings(redis_url="redis://cache:6379/0").resolved_rate_limit_storage == "redis://cache:6379/0"
    assert Settings(redis_url="redis://cache:6379/0", rate_limit_storage="memory").resolved_rate_limit_storage == (
        "memory"
    )
    assert Settings(rate_limit_storage="rediss://limits:6380/2").resolved_rate_limit_storage == (
        "rediss://limits:6380/2"
    )


def test_trusted_proxies_are_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEVO_TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,")

    assert [str(network) for network in Settings().trusted_proxy_networks] == [
        "10.0.0.0/8",
        "192.168.1.7/32",
        "2001:db8::/32",
    ]


def test_rate_limits_false_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEVO_RATE_LIMITS", "false")

    assert Settings().rate_limits is False


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("rate_limit_api", "lots", "is not a rate"),
        ("rate_limit_training", "0/hour", "allows no request at all"),
        ("rate_limit_bulk", "5/hour,50/day", "names 2 rates"),
        ("rate_limit_storage", "memcached://cache:11211", "neither memory nor a Redis URL"),
        ("trusted_proxies", "10.0.0.0/8, proxy.internal", "'proxy.internal' is not an IP address or network"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(field: str, value: str, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{field: value})

    [error] = refused.value.errors()
    assert error["loc"] == (field,)
    assert problem in error["msg"]


def test_the_command_line_stops_on_a_bad_rate_saying_which(tmp_path: Path) -> None:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("RELEVO_")}
    environment |= {"RELEVO_DATA_DIR": str(tmp_path), "RELEVO_RATE_LIMIT_API": "a hundred a minute"}

    command = subprocess.run(
        [sys.executable, "-m", "relevo", "serve"], env=environment, capture_output=True, text=True, timeout=60
    )

    assert command.returncode == 1
    assert "Error: RELEVO_RATE_LIMIT_API: 'a hundred a minute' is not a rate" in command.stderr
