"""Small uploaded recommenders built in tests, as a shop would make them: factors saved with
numpy, and ONNX scorers built with onnx.helper (a MatMul by a fixed items × items matrix)."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ITEMS = [f"P{number:03d}" for number in range(1, 13)]


def item_links(items: int = len(ITEMS)) -> np.ndarray:
    """items × items: each item points at the next two (cyclically), the next most. A user who
    touched item i gets i+1 first, then i+2."""
    links = np.zeros((items, items), dtype=np.float32)
    for item in range(items):
        links[item, (item + 1) % items] = 2.0
        links[item, (item + 2) % items] = 1.0
    return links


def scorer(
    links: np.ndarray | None = None,
    *,
    batch: int | str = "batch",
    width: int | str | None = None,
    opset: int = 17,
) -> onnx.ModelProto:
    """An ONNX scorer: scores = weights @ links, plus a small base score per item (so a user
    with no history still gets an order: the first items highest)."""
    links = item_links() if links is None else links
    items = links.shape[0]
    width = items if width is None else width
    base = np.linspace(0.1, 0.0, items, dtype=np.float32)[np.newaxis, :]
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["weights", "links"], ["linked"]),
            helper.make_node("Add", ["linked", "base"], ["scores"]),
        ],
        "scorer",
        [helper.make_tensor_value_info("weights", TensorProto.FLOAT, [batch, width])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [batch, width])],
        [numpy_helper.from_array(links, "links"), numpy_helper.from_array(base, "base")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def save_onnx(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def factors_layout(users: int = 6, factors: int = 4, seed: int = 5, **extra: np.ndarray) -> dict[str, np.ndarray]:
    """Factors for `users` users (U1, U2, ...) and the ITEMS, random but fixed."""
    generator = np.random.default_rng(seed)
    return {
        "user_ids": np.array([f"U{number}" for number in range(1, users + 1)]),
        "item_ids": np.array(ITEMS),
        "user_factors": generator.normal(size=(users, factors)).astype(np.float32),
        "item_factors": generator.normal(size=(len(ITEMS), factors)).astype(np.float32),
        **extra,
    }


def save_factors(layout: dict[str, np.ndarray], path: Path) -> Path:
    np.savez(path, **layout)
    return path
