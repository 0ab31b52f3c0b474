"""Logging set-up, with the current request id stamped on every record."""

import logging
import sys
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class _StandardError(logging.StreamHandler):
    """Writes to sys.stderr as it is at each record, not as it was when logging was set up
    (a test runner swaps it, and closes what it swapped in)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(level: str) -> None:
    handler = _StandardError()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger("relevo")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
