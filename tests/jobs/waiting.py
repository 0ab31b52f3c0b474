"""Waiting for a condition, with a deadline: tests never sleep a fixed time for something to
happen, they look again until it has (or the deadline says it never will)."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, seconds: float, what: str, every: float = 0.02) -> T:
    """The first truthy answer of `condition`; AssertionError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s (last: {found!r})")
        time.sleep(every)
