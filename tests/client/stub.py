"""A tiny HTTP server answering from a script, for what a real Relevo will not do on demand
(a 503 with a Retry-After date, a 503 every time): each request takes the next scripted
answer, the last one repeating."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stub:
    url: str
    answers: list[Answer]
    requests: list[str] = field(default_factory=list)  # "METHOD path" of each request seen


@contextmanager
def stub_server(answers: list[Answer]) -> Iterator[Stub]:
    stub = Stub(url="", answers=list(answers))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            stub.requests.append(f"{self.command} {self.path}")
            answer = stub.answers.pop(0) if len(stub.answers) > 1 else stub.answers[0]
            content = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, *args: object) -> None:  # quiet: pytest shows what matters
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
