"""Whether the port `relevo serve` was asked for is free, and if not, who has it: told before
anything starts, rather than after the database is migrated and the app has started."""

import errno
import json
import socket
import urllib.request

_ADVICE = "pick another with `relevo serve --port 8001` (or `make run PORT=8001`)"


def port_taken(host: str, port: int) -> str | None:
    """None if the port is free; otherwise why it is not, and what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                who = (
                    "a Relevo server already answers there" if _relevo_answers(host, port) else "another program has it"
                )
                return f"the port is taken ({who}); {_ADVICE}"
            if exc.errno == errno.EACCES:
                return f"ports below 1024 need privileges; {_ADVICE}"
            return f"{exc.strerror}; {_ADVICE}"
    return None


def _relevo_answers(host: str, port: int) -> bool:
    address = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://[{address}]:{port}/health" if ":" in address else f"http://{address}:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return "status" in json.loads(response.read(4096) or b"{}")
    except (OSError, ValueError):
        return False
