"""Recording each component's part of a hybrid's scores while it scores, so an answer can say
what produced each of its items (`engine/explain.py` is the public side).

A part is what the hybrid's blend adds for one component: its weight × its per-user scaled
score, so an item's parts sum to its score. They are taken from the very arrays the blend
sums (same candidates, same scaling), never recomputed. A `ScoreParts` belongs to one call and
each batch of users records into its own `BatchParts`, so threads scoring batches side by side
share nothing but the disjoint rows they write."""

from collections.abc import Sequence

import numpy as np


class ScoreParts:
    """Each component's part of the scores of chosen items, for the users of one call:
    `values[u, j, c]` is component `names[c]`'s part of user u's j-th item (NaN for padding,
    or for an item that was not among the user's candidates).

    The chosen items are the answer's own, or, given `wanted` (users × k item indices, -1 for
    none), those: the parts of a list ranked earlier by the same scoring."""

    def __init__(self, names: Sequence[str], users: int, k: int, wanted: np.ndarray | None = None) -> None:
        self.names = tuple(names)
        self.wanted = wanted
        width = k if wanted is None else wanted.shape[1]
        self.values = np.full((users, width, len(self.names)), np.nan, dtype=np.float32)

    def batch(self, start: int, stop: int) -> "BatchParts":
        wanted = None if self.wanted is None else self.wanted[start:stop]
        return BatchParts(self, start, stop, wanted)


class BatchParts:
    """One batch's recording: the blend announces its candidates (`begin`), then adds each
    component's part (`add`); the batch's stage of choosing the top k hands over what it chose
    (`take`). Parts of `wanted` items are picked out as they come, the rest kept until then."""

    def __init__(self, call: ScoreParts, start: int, stop: int, wanted: np.ndarray | None) -> None:
        self._call, self._start, self._stop, self._wanted = call, start, stop, wanted
        self._columns: np.ndarray | None = None  # the wanted items' columns among the candidates
        self._valid: np.ndarray | None = None
        self._candidates: np.ndarray | None = None
        self._own: np.ndarray | None = None
        self._kept: dict[str, np.ndarray] = {}
        self._began = False

    def begin(self, candidates: np.ndarray | None, own: np.ndarray | None) -> None:
        """The candidates the parts' columns are (sorted item indices, None for every item) and
        which are each user's own (None: all)."""
        self._began = True
        self._candidates, self._own = candidates, own
        if self._wanted is not None:
            self._columns, self._valid = self._place(self._wanted)

    def add(self, name: str, part: np.ndarray) -> None:
        """A component's part of every candidate's score (rows × candidates)."""
        if self._wanted is None:
            self._kept[name] = part
            return
        self._write(name, part, self._columns, self._valid)

    def take(self, items: np.ndarray, scores: np.ndarray) -> None:
        """The batch's answer (rows × width item indices, -1 padded, and their scores): its
        items' parts go to the call's values. A model that blends nothing has one part, its
        own score."""
        chosen = items if self._wanted is None else self._wanted
        width = chosen.shape[1]
        if not self._began:
            if self._wanted is None and len(self._call.names) == 1:
                rows = slice(self._start, self._stop)
                self._call.values[rows, :width, 0] = np.where(items >= 0, scores, np.nan)
            return
        if self._wanted is None:
            columns, valid = self._place(items)
            for name, part in self._kept.items():
                self._write(name, part, columns, valid)
            self._kept = {}

    def _place(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each item's column among the candidates, and whether it is there (and the user's own)."""
        valid = items >= 0
        if self._candidates is None:
            columns = np.where(valid, items, 0)
        else:
            columns = np.searchsorted(self._candidates, items).clip(max=max(len(self._candidates) - 1, 0))
            if len(self._candidates):
                valid &= self._candidates[columns] == items
            else:
                valid[:] = False
        if self._own is not None:
            valid &= np.take_along_axis(self._own, columns, axis=1)
        return columns, valid

    def _write(self, name: str, part: np.ndarray, columns: np.ndarray, valid: np.ndarray) -> None:
        picked = np.take_along_axis(part, columns, axis=1) if part.shape[1] else np.zeros(columns.shape, np.float32)
        slot = self._call.names.index(name)
        width = columns.shape[1]
        self._call.values[self._start : self._stop, :width, slot] = np.where(valid, picked, np.nan)
