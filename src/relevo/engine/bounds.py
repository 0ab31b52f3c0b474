"""Each setting's allowed range, declared beside it in an algorithm's config and checked in one
place. The upper bounds keep one training's work finite: a setting that sizes the work
(iterations, factors, neighbours, candidates) cannot ask for more than a shop would use."""

import dataclasses
import math
from typing import Any


class ConfigError(ValueError):
    """A setting out of its range. `field` names it, dotted inside a hybrid's components
    (`components.als.epochs`); the message reads `epochs: at most 1000`."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem

    def inside(self, prefix: str) -> "ConfigError":
        """The same error for a config nested under `prefix`."""
        return ConfigError(f"{prefix}.{self.field}", self.problem)


def bounded(
    default: Any, *, at_least: float | None = None, above: float | None = None, at_most: float | None = None
) -> Any:
    """A config field with its range (any side may be open)."""
    return dataclasses.field(default=default, metadata={"bounds": (at_least, above, at_most)})


def bounds_of(config_class: type) -> dict[str, tuple[float | None, float | None, float | None]]:
    """Every bounded field of a config class: (at least, above, at most)."""
    return {
        item.name: item.metadata["bounds"] for item in dataclasses.fields(config_class) if "bounds" in item.metadata
    }


def check_bounds(config: Any) -> None:
    """Raises ConfigError for the first bounded field of `config` outside its range, not a
    finite number, or not a whole number where the default is one."""
    for item in dataclasses.fields(config):
        if "bounds" not in item.metadata:
            continue
        at_least, above, at_most = item.metadata["bounds"]
        name, value = item.name, getattr(config, item.name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(name, f"must be a finite number, not {value!r}")
        if isinstance(item.default, int) and not isinstance(value, int):
            raise ConfigError(name, f"must be a whole number, not {value!r}")
        if at_least is not None and value < at_least:
            raise ConfigError(name, f"at least {_number(at_least)}")
        if above is not None and value <= above:
            raise ConfigError(name, f"must be above {_number(above)}")
        if at_most is not None and value > at_most:
            raise ConfigError(name, f"at most {_number(at_most)}")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
