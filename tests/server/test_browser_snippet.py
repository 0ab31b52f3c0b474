"""relevo.js in a real browser, against a real `relevo serve`: a storefront page on the origin
its publishable key names sends events that are stored and shows the recommendation widget,
whose clicks carry the answer's recommendation_id; a page on another origin is refused and
nothing of it is stored.

The browser is Debian's Chromium driven through its chromedriver, headless (as for the
documentation pages, tests/api/test_docs_pages.py); each storefront is a small HTTP server of
its own on 127.0.0.1, a port being enough to make another origin."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import httpx2
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import headless_chromium, require_chromium
from tests.served import Server, free_port, served

ADMIN = ("admin", "browser-test-admin-password")
SCRIPT_SECONDS = 30


class Storefronts(NamedTuple):
    allowed: str  # the origin the publishable key names
    listed: str  # allowed by RELEVO_CORS_ORIGINS, not by the key
    other: str  # allowed by nothing


class Live(NamedTuple):
    server: Server
    admin: dict[str, str]
    key: str
    shopper: str  # one of the demo shop's shoppers


@contextmanager
def storefront(folder: Path) -> Iterator[str]:
    """A static HTTP server of `folder` on a free port of 127.0.0.1; yields its origin."""
    handler = partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def chromium() -> None:
    require_chromium()


@pytest.fixture(scope="module")
def storefronts(chromium: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefronts]:
    folder = tmp_path_factory.mktemp("storefront")
    (folder / "index.html").write_text("<!doctype html><title>Shop</title><div id='for-you'></div>")
    with storefront(folder) as allowed, storefront(folder) as listed, storefront(folder) as other:
        yield Storefronts(allowed, listed, other)


@pytest.fixture(scope="module")
def live(storefronts: Storefronts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with the demo shop trained and deployed, and a publishable key for `allowed`."""
    folder = tmp_path_factory.mktemp("browser-snippet")
    environment = {
        "RELEVO_DATA_DIR": str(folder / "data"),
        "RELEVO_SECRET_KEY": "browser-snippet-test-secret-key-long-enough",
        "RELEVO_ADMIN_USERNAME": ADMIN[0],
        "RELEVO_ADMIN_PASSWORD": ADMIN[1],
        "RELEVO_CORS_ORIGINS": storefronts.listed,
        "RELEVO_LOG_LEVEL": "WARNING",
    }
    variables = {name: value for name, value in os.environ.items() if not name.startswith("RELEVO_")}
    for command in (("db", "upgrade"), ("demo", "--products", "200", "--users", "50", "--sessions", "300")):
        subprocess.run(
            [sys.executable, "-m", "relevo", *command], env={**variables, **environment}, check=True, timeout=300
        )
    with served(environment, folder / "server.log") as server:
        token = httpx2.post(f"{server.url}/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        key = httpx2.post(
            f"{server.url}/api/v1/api-keys",
            json={
                "name": "storefront",
                "kind": "publishable",
                "origins": [storefronts.allowed],
                "scopes": ["events:write", "recommendations:read"],
            },
            headers=admin,
        )
        assert key.status_code == 201, key.text
        events = httpx2.get(f"{server.url}/api/v1/events", params={"event_type": "view", "limit": 1}, headers=admin)
        yield Live(server, admin, key.json()["key"], events.json()["items"][0]["user_id"])


@pytest.fixture
def browser(chromium: None, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with headless_chromium(tmp_path / "profile") as driver:
        driver.set_script_timeout(SCRIPT_SECONDS)
        yield driver


def open_shop(browser: webdriver.Chrome, origin: str, live: Live, shopper: str) -> None:
    """The storefront page at `origin`, with relevo.js loaded from the server and initialised."""
    browser.get(f"{origin}/index.html")
    loaded = browser.execute_async_script(
        """const [src, done] = arguments;
        const script = document.createElement("script");
        script.src = src;
        script.onload = () => done(true);
        script.onerror = () => done(false);
        document.head.appendChild(script);""",
        f"{live.server.url}/relevo.js",
    )
    assert loaded, "the page could not load relevo.js"
    browser.execute_script(
        "Relevo.init({url: arguments[0], key: arguments[1], userId: arguments[2]})", live.server.url, live.key, shopper
    )


def tracked(browser: webdriver.Chrome, product_id: str, event_type: str = "view") -> dict:
    """What Relevo.track resolved to: {ok, status, body}."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Relevo.track(arguments[0], arguments[1]).then(done, (error) => done({thrown: String(error)}));",
        event_type,
        product_id,
    )


def stored(live: Live, shopper: str) -> list[dict]:
    answer = httpx2.get(f"{live.server.url}/api/v1/events", params={"user_id": shopper}, headers=live.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_page_on_the_keys_origin_sends_events(
    browser: webdriver.Chrome, storefronts: Storefronts, live: Live
) -> None:
    open_shop(browser, storefronts.allowed, live, "browser-shopper-1")
    result = tracked(browser, "P000001")
    assert result["ok"] and result["status"] == 201, result
    added = tracked(browser, "P000002", "add_to_cart")
    assert added["status"] == 201, added
    events = {(event["product_id"], event["event_type"]) for event in stored(live, "browser-shopper-1")}
    assert events == {("P000001", "view"), ("P000002", "add_to_cart")}


def test_a_page_on_another_origin_is_refused(browser: webdriver.Chrome, storefronts: Storefronts, live: Live) -> None:
    # Allowed by CORS, so the page reads the refusal: the key names other origins.
    open_shop(browser, storefronts.listed, live, "browser-shopper-2")
    result = tracked(browser, "P000001")
    assert result["status"] == 403, result
    assert storefronts.listed in json.dumps(result["body"]), result
    # Allowed by nothing: the browser keeps the request from being sent at all.
    open_shop(browser, storefronts.other, live, "browser-shopper-2")
    result = tracked(browser, "P000001")
    assert result["status"] == 0 and not result["ok"], result
    console = " ".join(entry["message"] for entry in browser.get_log("browser"))
    assert "CORS" in console, console
    assert stored(live, "browser-shopper-2") == []


def test_the_widget_shows_recommendations_and_sends_clicks_back(
    browser: webdriver.Chrome, storefronts: Storefronts, live: Live
) -> None:
    open_shop(browser, storefronts.allowed, live, live.shopper)
    answer = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Relevo.recommend(document.getElementById('for-you'), {count: 4, productUrl: '#p-{product_id}'}).then(done);"
    )
    assert answer["status"] == 200, answer
    links = browser.find_elements(By.CSS_SELECTOR, "#for-you ul.relevo-recommendations li a.relevo-link")
    assert [link.get_attribute("data-product-id") for link in links] == [
        item["product_id"] for item in answer["body"]["items"]
    ]
    assert len(links) == 4
    names = [link.find_element(By.CSS_SELECTOR, ".relevo-name").text for link in links]
    assert names == [item["name"] or item["product_id"] for item in answer["body"]["items"]]
    links[0].click()
    clicked = answer["body"]["items"][0]["product_id"]

    def click_stored(_: object) -> list[dict]:
        return [e for e in stored(live, live.shopper) if e["event_type"] == "click" and e["product_id"] == clicked]

    [click] = WebDriverWait(browser, SCRIPT_SECONDS).until(click_stored)
    assert click["recommendation_id"] == answer["body"]["recommendation_id"]
