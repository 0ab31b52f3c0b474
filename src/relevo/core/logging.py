"""Logging set-up: the current request id stamped on every record, and secrets kept out of logs."""

import copy
import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from uvicorn.config import LOGGING_CONFIG

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

REDACTED = "***"

# Query or form parameters whose values are credentials: any name containing one of these
# words (`password`, `new_password`, `access_token`, `api_key`, `client_secret`, ...).
_SECRET_PARAMETER = re.compile(
    r"(?P<name>[\w.\-\[\]]*(?:password|passwd|secret|token|api[_-]?key|apikey|authorization)[\w.\-\[\]]*)"
    r"(?P<equals>=|%3D)(?P<value>[^&\s\"'<>]*)",
    re.IGNORECASE,
)
# The password of a URL such as postgresql://relevo:secret@db/relevo.
_URL_PASSWORD = re.compile(
    r"(?P<start>[a-z][a-z0-9+.\-]*://[^:/?#@\s]*:)(?P<password>[^@/\s]+)(?P<at>@)", re.IGNORECASE
)


def redact(text: str) -> str:
    """`text` with the values of credential parameters and URL passwords replaced by ***."""
    if "=" not in text and "%3D" not in text.upper() and "@" not in text:
        return text
    text = _SECRET_PARAMETER.sub(lambda match: f"{match['name']}{match['equals']}{REDACTED}", text)
    return _URL_PASSWORD.sub(lambda match: f"{match['start']}{REDACTED}{match['at']}", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record before any handler formats it: its message and each of its arguments
    (uvicorn's access log passes every request's path with its query string as one), and its
    traceback, redacted. Arguments stay arguments: uvicorn's access formatter unpacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted_argument(argument) for argument in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted_argument(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once set: the traceback's messages are redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if isinstance(getattr(record, "color_message", None), str):
            record.color_message = redact(record.color_message)  # what uvicorn's colour formatter prints
        return True


def _redacted_argument(argument: object) -> object:
    if argument is None or isinstance(argument, int | float):
        return argument  # for %d and the like; numbers hold no credentials
    text = str(argument)
    redacted = redact(text)
    return argument if redacted == text else redacted


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
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger("relevo")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with RedactSecrets on each of its handlers (the access log
    prints every request's query string; an error's traceback may quote a URL)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
