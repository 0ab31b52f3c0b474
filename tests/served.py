"""A real `relevo serve` in a process of its own, on a free port, for the tests that need the
whole server: its logs, its worker processes, what survives killing it."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path  # what the server printed, standard output and error together

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the server and every process it started: no chance to finish anything."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 30.0) -> str:
        """Stops the server as an operator would (SIGTERM) and returns everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, *, seconds: float, what: str, server: Server | None = None) -> None:
    """Polls `condition` until it holds; fails naming `what` (and the server's output) at the deadline."""
    deadline = time.monotonic() + seconds
    while not condition():
        if server is not None and server.process.poll() is not None:
            raise AssertionError(f"the server exited ({server.process.returncode}) before {what}:\n{server.output()}")
        if time.monotonic() > deadline:
            output = f":\n{server.output()}" if server is not None else ""
            raise AssertionError(f"no {what} within {seconds:g} s{output}")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/health", timeout=2).status_code == 200
    except httpx2.HTTPError:
        return False


# The `relevo` script the package installs next to this Python, as an operator runs it.
RELEVO_SCRIPT = Path(sys.executable).with_name("relevo")


@contextmanager
def served(
    environment: dict[str, str],
    log: Path,
    *options: str,
    command: tuple[str, ...] = (sys.executable, "-m", "relevo"),
    start_seconds: float = 90.0,
) -> Iterator[Server]:
    """`relevo serve` with the RELEVO_* variables in `environment` (and none of this process's
    own), answering /health; stopped (if still running) when the block ends. Rate limits are
    off unless `environment` turns them on: the tests poll the server far more often than 100
    times a minute."""
    port = free_port()
    command = [*command, "serve", "--port", str(port), *options]
    variables = {name: value for name, value in os.environ.items() if not name.startswith("RELEVO_")}
    variables["RELEVO_RATE_LIMITS"] = "false"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env={**variables, **environment}, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process=process, url=f"http://127.0.0.1:{port}", log=log)
    try:
        wait_until(lambda: _answers(server.url), seconds=start_seconds, what="answer on /health", server=server)
        yield server
    finally:
        server.stop()
