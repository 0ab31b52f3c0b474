"""One API call described once, whichever client (sync or async) sends it."""

from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Call:
    """A request and how to read its answer; `idempotent` says whether it may be sent twice."""

    method: str
    path: str
    answer: TypeAdapter | None
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    idempotent: bool | None = None  # None: decided by the method

    @property
    def may_repeat(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.method in IDEMPOTENT_METHODS

    def read(self, response: httpx.Response) -> Any:
        return None if self.answer is None else self.answer.validate_json(response.content)


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without the ones left out (None); booleans as the server reads them."""
    return {
        name: ("true" if value else "false") if isinstance(value, bool) else value
        for name, value in params.items()
        if value is not None
    }


def json_body(model: BaseModel) -> dict[str, Any]:
    """A request model as JSON, with only the fields the caller set (an update leaves the rest)."""
    return model.model_dump(mode="json", exclude_unset=True)
