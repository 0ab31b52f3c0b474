"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections, each sending
requests one after another for a fixed time, counting answers and timing each one.

Written on raw asyncio streams so the client costs little CPU next to the server it measures
(general-purpose clients spend more time per request than the server does).
"""

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    seconds: float
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    ran_out: bool = False  # the requests (not cycled) ran out before the time was up

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")

    def summary(self) -> str:
        return (
            f"{self.rate:,.0f} req/s, p50 {self.percentile(0.5) * 1000:.1f} ms, "
            f"p99 {self.percentile(0.99) * 1000:.1f} ms, statuses {dict(self.statuses)}"
        )


def build_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(host: str, port: int, requests: Iterator[bytes], deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            request = next(requests, None)
            if request is None:  # every request sent once
                result.ran_out = True
                break
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[int(head[9:12])] += 1
    finally:
        writer.close()


async def _run(
    host: str, port: int, requests: Iterable[bytes], connections: int, seconds: float, cycle: bool
) -> LoadResult:
    result = LoadResult(seconds=seconds)
    pool = itertools.cycle(requests) if cycle else iter(requests)
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_connection(host, port, pool, deadline, result) for _ in range(connections)))
    result.seconds = time.perf_counter() - started  # shorter when the requests ran out
    return result


def run_load(
    host: str, port: int, requests: Iterable[bytes], *, connections: int, seconds: float, cycle: bool = True
) -> LoadResult:
    """Sends the given raw requests over `connections` keep-alive connections for `seconds`:
    cycled, or (`cycle` False) each once at most, stopping early when they run out (an iterator
    goes on where the last run left it)."""
    try:
        import uvloop

        return uvloop.run(_run(host, port, requests, connections, seconds, cycle))
    except ImportError:
        return asyncio.run(_run(host, port, requests, connections, seconds, cycle))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
