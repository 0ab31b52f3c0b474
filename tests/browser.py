"""Debian's Chromium, driven headless through its own chromedriver (`make install-test` installs
both), for the tests that need a real browser: a fixture that requires it, and a fresh driver."""

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.conftest import REQUIRE_SERVICES

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run")


def require_chromium() -> None:
    """Fails (with RELEVO_TEST_REQUIRE_SERVICES) or skips the test when the browser is missing."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        message = f"the browser tests need {CHROMIUM} and {CHROMEDRIVER} (`make install-test` installs them)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def headless_chromium(
    profile: Path, *, flags: Iterable[str] = (), logs: Iterable[str] = ("browser",)
) -> Iterator[webdriver.Chrome]:
    """A browser with a fresh profile in `profile`, keeping the `logs` asked for ("browser",
    "performance"), quit afterwards."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*_FLAGS, f"--user-data-dir={profile}", *flags):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", dict.fromkeys(logs, "ALL"))
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
