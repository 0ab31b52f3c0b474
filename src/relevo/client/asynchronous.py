"""`AsyncClient`: the asyncio client, on one httpx.AsyncClient; every method is awaited."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import httpx

from relevo.client.calls import Call
from relevo.client.connection import after_answer, after_connection_error, client_headers
from relevo.client.resources import Catalog, Events, Jobs, Models, Recommendations
from relevo.client.retries import RetryPolicy
from relevo.client.schemas import JobRead


class AsyncJobs(Jobs):
    async def wait(self, job_id: str, *, timeout: float = 300.0, interval: float = 0.5) -> JobRead:
        """Polls the job until it is completed, failed or cancelled; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while not (job := await self.get(job_id)).finished:
            if time.monotonic() + interval > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout:g} s")
            await asyncio.sleep(interval)
        return job


class AsyncClient:
    """Relevo's API over HTTP for asyncio code. Use as an async context manager, or `aclose()`.
    `http` is an httpx.AsyncClient of your own, used instead of base_url and timeout."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        retries: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.retries = retries or RetryPolicy()
        self._sleep = sleep  # the tests see the waits without waiting
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._http.headers.update(client_headers(api_key, token))
        self.events = Events(self.send)
        self.catalog = Catalog(self.send)
        self.recommendations = Recommendations(self.send)
        self.models = Models(self.send)
        self.jobs = AsyncJobs(self.send)

    async def send(self, call: Call) -> Any:
        """Sends the call, retrying as `self.retries` says; its answer read, or a RelevoError."""
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            try:
                response = await self._http.request(call.method, call.path, params=call.params, json=call.body)
            except httpx.TransportError as failure:
                wait, error = after_connection_error(call, failure, policy=self.retries, attempt=attempt, waited=waited)
                if wait is None:
                    raise error from failure
            else:
                if response.is_success:
                    return call.read(response)
                wait, error = after_answer(response, policy=self.retries, attempt=attempt, waited=waited)
                if wait is None:
                    raise error
            await self._sleep(wait)
            waited += wait

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
