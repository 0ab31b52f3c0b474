"""An uploaded ONNX model that scores items for a user, served as a recommender: the engine's
stages (history, exclusions, filters, top k) around a model Relevo did not train.

The layout (docs/registry.md): one float32 input of shape [batch, items], each row a user's
interaction weights (Relevo's event weights) in the order of the upload's item ids, and a first
output of float32 scores of the same shape, higher is better. Everyone is a stranger to it: it
knows no user ids, only what each user did, so a user's answer follows their events in Relevo
and a user with none gets the model's answer for an empty row."""

import shutil
import tempfile
from pathlib import Path
from typing import Self

import numpy as np
import onnxruntime
import scipy.sparse as sp

from relevo.engine.base import BATCH_SCORES, BATCH_USERS, Recommender, StopCheck
from relevo.engine.data import TrainingData
from relevo.engine.topk import top_k
from relevo.engine.vocab import Vocabulary


class OnnxLayoutError(ValueError):
    """The model does not follow the layout, or onnxruntime cannot load it."""


class OnnxScorer(Recommender):
    algorithm = "onnx"

    def __init__(self, session: onnxruntime.InferenceSession, item_ids: list[str], batch: int | None) -> None:
        super().__init__()
        self._session = session
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        self._fixed_batch = batch  # the rows a run takes when the model fixes them, else None
        self.users = Vocabulary([])
        self.items = Vocabulary(item_ids)
        self.history = sp.csr_matrix((0, len(self.items)), dtype=np.float32)

    @classmethod
    def load(cls, path: Path, item_ids: list[str]) -> Self:
        """The model in the ONNX file at `path`, checked against the layout and tried on empty
        rows; OnnxLayoutError saying what does not match."""
        session = _session(path)
        batch = check_graph(session, len(item_ids))
        model = cls(session, item_ids, batch)
        for rows in (1, 3):  # one request's user, and a batch
            try:
                tried = model._raw_scores(np.zeros((rows, len(item_ids)), dtype=np.float32))
            except Exception as exc:  # onnxruntime raises its own kinds, with no common base
                raise OnnxLayoutError(f"the model fails on {rows} empty row(s): {_first_line(exc)}") from None
            if tried.shape != (rows, len(item_ids)):
                raise OnnxLayoutError(
                    f"output {model._output!r}: {rows} row(s) gave shape {list(tried.shape)}; "
                    f"must be [{rows}, {len(item_ids)}], one score per item"
                )
            if np.isnan(tried).any():
                raise OnnxLayoutError(f"output {model._output!r}: NaN scores for a user with no history")
        return model

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        raise ValueError("'onnx' models are uploaded to the registry, not trained from events")

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return self._run(histories.toarray().astype(np.float32, copy=False))

    def _batch_users(self) -> int:
        # A dense row per user goes in and comes out: a batch holds at most BATCH_SCORES of each.
        return max(1, min(BATCH_USERS, BATCH_SCORES // max(len(self.items), 1)))

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """What the model recommends to someone who touched this item alone."""
        row = np.zeros((1, len(self.items)), dtype=np.float32)
        row[0, item] = 1.0
        scores = self._run(row)
        scores[0, item] = -np.inf
        indices, values = top_k(scores, k)
        keep = indices[0] >= 0
        return indices[0][keep], values[0][keep]

    def _state(self) -> dict[str, np.ndarray]:
        raise TypeError("an ONNX model is kept as its uploaded file, not saved as arrays")

    def _restore(self, state: object) -> None:
        raise TypeError("an ONNX model is loaded from its uploaded file")

    def _run(self, rows: np.ndarray) -> np.ndarray:
        """The model's scores for these rows; NaN scores count as the lowest."""
        scores = self._raw_scores(rows)
        if scores.shape != rows.shape:
            raise ValueError(f"the model gave scores of shape {list(scores.shape)} for {list(rows.shape)} rows")
        return np.where(np.isnan(scores), -np.inf, scores).astype(np.float32, copy=False)

    def _raw_scores(self, rows: np.ndarray) -> np.ndarray:
        """The model's first output for these rows, in runs of the fixed batch when the model
        has one (the last run padded with empty rows)."""
        step = self._fixed_batch or max(len(rows), 1)
        outputs = []
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            given = len(chunk)
            if given < step and self._fixed_batch:
                chunk = np.vstack([chunk, np.zeros((step - given, rows.shape[1]), dtype=np.float32)])
            scores = self._session.run([self._output], {self._input: chunk})[0]
            outputs.append(np.asarray(scores, dtype=np.float32)[:given])
        return np.concatenate(outputs) if outputs else np.zeros((0, len(self.items)), dtype=np.float32)


def check_graph(session: onnxruntime.InferenceSession, items: int) -> int | None:
    """The model's batch size when it fixes one (None: any); OnnxLayoutError when its inputs or
    outputs do not match the layout."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        names = ", ".join(repr(node.name) for node in inputs)
        raise OnnxLayoutError(f"{len(inputs)} inputs ({names}); the layout has one, float32 [batch, items]")
    if not outputs:
        raise OnnxLayoutError("no output; the layout's first output is float32 [batch, items]")
    for role, node in (("input", inputs[0]), ("output", outputs[0])):
        if node.type != "tensor(float)":
            raise OnnxLayoutError(f"{role} {node.name!r}: of type {node.type}; must be tensor(float) (float32)")
        if len(node.shape) != 2:
            raise OnnxLayoutError(f"{role} {node.name!r}: shape {node.shape}; must be [batch, items], rank 2")
        width = node.shape[1]
        if isinstance(width, int) and width != items:
            raise OnnxLayoutError(f"{role} {node.name!r}: {width} columns, but there are {items} item ids")
    batch = inputs[0].shape[0]
    if isinstance(batch, int) and batch < 1:
        raise OnnxLayoutError(f"input {inputs[0].name!r}: a batch of {batch} rows")
    return batch if isinstance(batch, int) else None


def _session(path: Path) -> onnxruntime.InferenceSession:
    """An onnxruntime session on the CPU, one thread, for the model at `path`. Loaded from a
    copy alone in an empty folder: a model whose weights point at external files (ONNX's
    external data, resolved next to the model) finds nothing there to read."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: warnings about the graph are not the shop's log
    with tempfile.TemporaryDirectory(prefix="relevo-onnx-") as folder:
        alone = Path(folder) / "model.onnx"
        shutil.copyfile(path, alone)
        try:
            return onnxruntime.InferenceSession(str(alone), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own kinds, with no common base
            message = _first_line(exc)
            if "external data" in message.lower():
                message = "its weights are in external files; save them inside the model (save_as_external_data=False)"
            raise OnnxLayoutError(f"onnxruntime cannot load it: {message}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
