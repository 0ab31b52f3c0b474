"""Real `relevo serve` processes for the tests that kill them: started on a free port with the
settings given as RELEVO_* variables, waited for until they answer, and killed with SIGKILL
(no shutdown code runs, as when a machine dies or the OOM killer strikes)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        command = [sys.executable, "-m", "relevo", "serve", "--port", str(self.port)]
        # A file, not a pipe: a pipe nobody reads fills up and then blocks the server's logging.
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command, env={**os.environ, **environment}, stdout=output, stderr=subprocess.STDOUT
            )
        self.client = httpx2.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"relevo serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"relevo serve did not answer within {START_SECONDS:g} s")

    def kill(self) -> None:
        """SIGKILL: the process ends at once, its jobs' rows as they were."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def running_server(environment: dict[str, str], log: Path) -> Iterator[Server]:
    """A server that answers; stopped afterwards, whatever happened."""
    server = Server(environment, log)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()
