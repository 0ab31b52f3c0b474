"""`relevo serve` on a port that is taken says so, and what to do, before it starts anything."""

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from relevo.server.port import port_taken
from tests.served import free_port


def test_a_free_port_is_free() -> None:
    assert port_taken("127.0.0.1", free_port()) is None


def test_a_port_another_program_listens_on_is_taken_and_relevo_serve_says_so(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        assert "another program" in port_taken("127.0.0.1", port)

        done = subprocess.run(
            [sys.executable, "-m", "relevo", "serve", "--port", str(port)],
            env={"RELEVO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}: the port is taken" in done.stderr
    assert "--port 8001" in done.stderr and "make run PORT=8001" in done.stderr
    assert not (tmp_path / "relevo.db").exists()  # nothing was started or migrated


class _Health(BaseHTTPRequestHandler):
    """Answers /health as a Relevo server does (a stand-in: starting a real one here would only
    make the test slower; tests/test_serve.py starts real ones)."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "healthy"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_a_port_a_relevo_server_answers_on_is_named_as_such() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert "a Relevo server already answers there" in port_taken("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
