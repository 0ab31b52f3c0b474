"""/docs and /redoc: their scripts and styles come from the server itself, and in a real browser,
against a real `relevo serve`, each page renders the API's operations without asking anything
of any other host (no CDN), so the pages work on a machine without internet.

The browser is Debian's Chromium driven through its own chromedriver (`make install-test`
installs both), headless, with a fresh profile. Host names other than the server's do not
resolve in it, so a page that reached for the internet fails here even on a connected machine."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import headless_chromium, require_chromium
from tests.served import Server, served

RENDER_SECONDS = 90.0
# Operations the pages must show, from several domains.
OPERATIONS = ("/login", "/api/v1/recommendations/{user_id}", "/api/v1/events", "/api/v1/store/products/")


@pytest.fixture(scope="module")
def chromium() -> None:
    require_chromium()


@pytest.fixture(scope="module")
def server(chromium: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("docs-pages")
    environment = {
        "RELEVO_DATA_DIR": str(folder / "data"),
        "RELEVO_SECRET_KEY": "docs-pages-test-secret-key-long-enough-for-jwt",
        "RELEVO_LOG_LEVEL": "WARNING",
    }
    with served(environment, folder / "server.log") as server:
        yield server


@pytest.fixture
def browser(chromium: None, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless, with a fresh profile, logging the page's network requests; no host name but
    the server's resolves."""
    flags = ("--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    with headless_chromium(tmp_path / "profile", flags=flags, logs=("performance", "browser")) as driver:
        yield driver


def sent_urls(driver: webdriver.Chrome, page: str) -> list[str]:
    """Every URL that `page` (the document at that URL) asked for and the browser sent, from its
    network log: not those it blocked itself (as the page's Content-Security-Policy says)."""
    requested, blocked = {}, set()
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        details = event["params"]
        if event["method"] == "Network.requestWillBeSent" and details.get("documentURL") == page:
            requested[details["requestId"]] = details["request"]["url"]
        elif event["method"] == "Network.loadingFailed" and details.get("blockedReason"):
            blocked.add(details["requestId"])
    return [url for request, url in requested.items() if request not in blocked]


def off_the_server(urls: list[str], server: Server) -> list[str]:
    """The URLs that would leave the server's host (data: and blob: URLs are the page's own)."""
    host = urlsplit(server.url).hostname
    return [url for url in urls if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != host]


def rendered(driver: webdriver.Chrome, url: str, selector: str) -> list:
    """Opens `url` and waits until `selector` matches; the matches, or none at the deadline."""
    driver.get(url)
    try:
        return WebDriverWait(driver, RENDER_SECONDS).until(lambda page: page.find_elements(By.CSS_SELECTOR, selector))
    except TimeoutException:
        return []


def test_the_pages_load_their_assets_from_the_server_without_a_token(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200, response.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert [asset for asset in assets if not asset.startswith("/docs/assets/")] == [], page
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


def test_swagger_ui_renders_the_operations_from_the_server_alone(server: Server, browser: webdriver.Chrome) -> None:
    operations = rendered(browser, f"{server.url}/docs", ".opblock")
    urls = sent_urls(browser, f"{server.url}/docs")

    assert off_the_server(urls, server) == []
    assert f"{server.url}/docs/assets/swagger-ui-bundle.js" in urls
    assert operations, f"no operation rendered; the browser's console: {browser.get_log('browser')}"
    paths = {
        operation.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
        for operation in operations
    }
    assert set(OPERATIONS) <= paths


def test_redoc_renders_the_operations_from_the_server_alone(server: Server, browser: webdriver.Chrome) -> None:
    operations = rendered(browser, f"{server.url}/redoc", "[data-section-id*='operation/']")
    urls = sent_urls(browser, f"{server.url}/redoc")

    assert off_the_server(urls, server) == []
    assert f"{server.url}/docs/assets/redoc.standalone.js" in urls
    assert operations, f"no operation rendered; the browser's console: {browser.get_log('browser')}"
    shown = browser.find_element(By.TAG_NAME, "body").text
    assert [path for path in OPERATIONS if path not in shown] == []
