"""GET /relevo.js: the storefront snippet, served from the installed package."""

from fastapi.testclient import TestClient


def test_the_snippet_is_served_as_javascript(client: TestClient) -> None:
    response = client.get("/relevo.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"
    for name in ("init", "track", "recommend"):
        assert f"{name}: {name}" in response.text


def test_the_snippet_never_writes_markup(client: TestClient) -> None:
    script = client.get("/relevo.js").text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
