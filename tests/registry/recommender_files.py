"""Small uploaded recommenders built in tests, as a shop would make them: factors saved with
numpy, and ONNX scorers built with onnx.helper (a MatMul by a fixed items × items matrix); and
uploading one through the model-serving API's route."""

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper

from tests.recommend.shop import DemoShop

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


NOT_IN_CATALOG = "NOT-IN-THE-CATALOG"


def shop_factors(shop: DemoShop, users: int = 20, popularity: bool = True) -> dict[str, np.ndarray]:
    """Factors a shop trained elsewhere: for its first users and every product, plus one
    product the catalog does not have."""
    generator = np.random.default_rng(4)
    items = [*(product.external_id for product in shop.products), NOT_IN_CATALOG]
    user_ids = sorted({event.user_id for event in shop.events})[:users]
    layout = {
        "user_ids": np.array(user_ids),
        "item_ids": np.array(items),
        "user_factors": generator.normal(size=(len(user_ids), 8)).astype(np.float32),
        "item_factors": generator.normal(size=(len(items), 8)).astype(np.float32),
    }
    if popularity:
        layout["item_popularity"] = (generator.permutation(len(items)) + 1).astype(np.float64)
    return layout


def npz(layout: dict[str, np.ndarray]) -> bytes:
    """As numpy.savez writes it (object arrays pickled inside: what Relevo refuses to load)."""
    buffer = io.BytesIO()
    np.savez(buffer, **layout)
    return buffer.getvalue()


def upload(
    client: TestClient,
    headers: dict,
    name: str,
    model: tuple[str, bytes],
    artifacts: list[tuple[str, bytes]] = (),
    deployment: bool = True,
) -> dict[str, Any]:
    sent = [("model_file", (model[0], model[1], "application/octet-stream"))]
    sent += [("artifact_files", (file_name, content, "application/octet-stream")) for file_name, content in artifacts]
    params = {"model_name": name, "model_version": "1", "deployment": deployment}
    response = client.post("/upload_model", params=params, files=sent, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def onnx_scorer_files(shop: DemoShop) -> tuple[tuple[str, bytes], list[tuple[str, bytes]]]:
    """A scorer over the shop's products in their order: a product touched points at the next two."""
    items = [product.external_id for product in shop.products]
    config = json.dumps({"kind": "recommender", "item_ids": items}).encode()
    links = np.zeros((len(items), len(items)), dtype=np.float32)
    for item in range(len(items)):
        links[item, (item + 1) % len(items)] = 2.0
        links[item, (item + 2) % len(items)] = 1.0
    return ("scorer.onnx", scorer(links).SerializeToString()), [("config.json", config)]
