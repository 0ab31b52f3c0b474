"""`relevo serve` as an operator runs it: its worker processes start, and its logs hold no
password or token, even with --access-log, which prints the path and query string of every
request."""

import subprocess
import sys
from pathlib import Path

import httpx2

from tests.served import RELEVO_SCRIPT, served, wait_until

ADMIN_PASSWORD = "the-admin-password-7f3e"
WRONG_PASSWORD = "a-wrong-password-91ac"
API_KEY = "rlv_not-a-real-key-5d2b"


def test_a_worker_process_loads_no_command_before_it_answers_its_supervisor() -> None:
    """uvicorn starts workers with multiprocessing's spawn, which imports the running script
    again (as `__mp_main__`) before the worker answers its supervisor's first health check,
    due within seconds; importing the whole app there let a busy machine miss it."""
    program = (
        "import runpy, sys; "
        f"runpy.run_path({str(RELEVO_SCRIPT)!r}, run_name='__mp_main__'); "
        "print(sorted(name for name in sys.modules if name.startswith('relevo')))"
    )
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "['relevo', 'relevo.command']"


def test_two_workers_start_and_log_no_password_or_token(tmp_path: Path) -> None:
    environment = {
        "RELEVO_DATA_DIR": str(tmp_path / "data"),
        "RELEVO_SECRET_KEY": "serve-test-secret-key-long-enough-for-jwt",
        "RELEVO_ADMIN_USERNAME": "admin",
        "RELEVO_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RELEVO_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "server.log"
    with (
        served(environment, log, "--access-log", "--workers", "2", command=(str(RELEVO_SCRIPT),)) as server,
        httpx2.Client() as client,
    ):
        wait_until(lambda: server.output().count("Application startup complete.") == 2, seconds=90, what="2 workers")
        login = client.post(f"{server.url}/login", params={"username": "admin", "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        wrong = client.post(f"{server.url}/login", params={"username": "admin", "password": WRONG_PASSWORD})
        assert wrong.status_code == 401, wrong.text
        client.get(f"{server.url}/api/v1/auth/me", params={"access_token": token, "api_key": API_KEY})
        body = client.post(f"{server.url}/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert body.status_code == 200, body.text
        output = server.stop()

    assert "died" not in output
    for secret in (ADMIN_PASSWORD, WRONG_PASSWORD, token, API_KEY):
        assert secret not in output
    assert '"POST /login?username=admin&password=*** HTTP/1.1" 200' in output
    assert '"POST /login?username=admin&password=*** HTTP/1.1" 401' in output
    assert '"GET /api/v1/auth/me?access_token=***&api_key=*** HTTP/1.1" 401' in output
