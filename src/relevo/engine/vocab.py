"""Vocabularies: the shop's ids (strings) to dense indices and back."""

from collections.abc import Iterable

import numpy as np


class Vocabulary:
    """An ordered set of ids; index i is the i-th id. Unknown ids look up as -1."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = np.asarray(list(ids), dtype=np.str_)
        self._index = {value: position for position, value in enumerate(self.ids.tolist())}
        if len(self._index) != len(self.ids):
            raise ValueError("a vocabulary cannot hold the same id twice")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, value: object) -> bool:
        return value in self._index

    def index(self, value: str) -> int:
        """The index of one id, or -1 if it is unknown."""
        return self._index.get(value, -1)

    def indices(self, values: Iterable[str]) -> np.ndarray:
        """Indices of many ids (int32), -1 for unknown ones."""
        lookup = self._index.get
        return np.fromiter((lookup(value, -1) for value in values), dtype=np.int32)

    def lookup(self, indices: np.ndarray) -> np.ndarray:
        """The ids at these indices."""
        return self.ids[indices]

    @classmethod
    def encode(cls, values: Iterable[str]) -> tuple["Vocabulary", np.ndarray]:
        """A vocabulary of the distinct values (in first-seen order) and each value's index."""
        codes, uniques = _factorize(values)
        return cls(uniques), codes


def _factorize(values: Iterable[str]) -> tuple[np.ndarray, list[str]]:
    seen: dict[str, int] = {}
    setdefault = seen.setdefault
    codes = np.fromiter((setdefault(value, len(seen)) for value in values), dtype=np.int32)
    return codes, list(seen)
