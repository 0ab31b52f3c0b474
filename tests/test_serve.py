"""`relevo serve` as an operator runs it: its logs hold no password or token, even with
--access-log, which prints the path and query string of every request."""

from pathlib import Path

import httpx2

from tests.served import served

ADMIN_PASSWORD = "the-admin-password-7f3e"
WRONG_PASSWORD = "a-wrong-password-91ac"
API_KEY = "rlv_not-a-real-key-5d2b"


def test_the_access_log_holds_no_password_or_token(tmp_path: Path) -> None:
    environment = {
        "RELEVO_DATA_DIR": str(tmp_path / "data"),
        "RELEVO_SECRET_KEY": "serve-test-secret-key-long-enough-for-jwt",
        "RELEVO_ADMIN_USERNAME": "admin",
        "RELEVO_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RELEVO_LOG_LEVEL": "INFO",
    }
    with served(environment, tmp_path / "server.log", "--access-log") as server, httpx2.Client() as client:
        login = client.post(f"{server.url}/login", params={"username": "admin", "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        wrong = client.post(f"{server.url}/login", params={"username": "admin", "password": WRONG_PASSWORD})
        assert wrong.status_code == 401, wrong.text
        client.get(f"{server.url}/api/v1/auth/me", params={"access_token": token, "api_key": API_KEY})
        body = client.post(f"{server.url}/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert body.status_code == 200, body.text
        output = server.stop()

    for secret in (ADMIN_PASSWORD, WRONG_PASSWORD, token, API_KEY):
        assert secret not in output
    assert '"POST /login?username=admin&password=*** HTTP/1.1" 200' in output
    assert '"POST /login?username=admin&password=*** HTTP/1.1" 401' in output
    assert '"GET /api/v1/auth/me?access_token=***&api_key=*** HTTP/1.1" 401' in output
