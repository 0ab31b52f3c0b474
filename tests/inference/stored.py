"""What the inference tests share: a few customers' purchases, and predictor versions put in
the registry as an upload leaves them (files in the store, a version row)."""

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from sqlalchemy.orm import Session

from relevo.catalog import service as catalog_service
from relevo.core.config import Settings
from relevo.events import service as events_service
from relevo.events.service import EventRow
from relevo.registry import files, service
from relevo.registry.models import ModelVersion, VersionStatus

# spend = 2 × total_spend + 10 × purchase_days + 1: easy to check by hand.
FEATURES = ["total_spend", "purchase_days"]
WEIGHTS = [2.0, 10.0]
BIAS = 1.0


def purchase(user: str, product: str, when: datetime, value: float | None = None) -> EventRow:
    return EventRow(None, user, product, "purchase", value, None, None, None, None, when)


def add_purchases(session: Session) -> None:
    """Customers "1" (three purchases on two days, $60 before 2024-03-01), "U2" ($5 before it),
    "3" (only views); product "book" costs $10."""
    catalog_service.upsert_rows(
        session=session,
        rows=[
            ("book", "Book", "Books", Decimal("10.00"), "USD", None, 3, None, "{}"),
            ("lamp", "Lamp", "Home", Decimal("40.00"), "USD", None, 3, None, "{}"),
        ],
    )
    events_service.store_rows(
        session=session,
        rows=[
            purchase("1", "book", datetime(2024, 1, 10, 9)),
            purchase("1", "lamp", datetime(2024, 1, 10, 10)),
            purchase("1", "book", datetime(2024, 2, 29, 23, 59)),
            purchase("U2", "book", datetime(2024, 2, 1), 5.0),
            purchase("U2", "lamp", datetime(2024, 3, 1), 40.0),  # on the date: not counted as of 2024-03-01
            EventRow(None, "3", "lamp", "view", None, None, None, None, None, datetime(2024, 1, 1)),
        ],
    )
    session.flush()


def expected(total_spend: float, purchase_days: int) -> float:
    return WEIGHTS[0] * total_spend + WEIGHTS[1] * purchase_days + BIAS


def linear_onnx(width: int = len(FEATURES)) -> bytes:
    initializers = [
        numpy_helper.from_array(np.resize(np.array(WEIGHTS, dtype=np.float32), (width, 1)), "weights"),
        numpy_helper.from_array(np.array([BIAS], dtype=np.float32), "bias"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "spend",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def store_version(
    session: Session,
    settings: Settings,
    folder: Path,
    *,
    name: str = "spend",
    model_file: tuple[str, bytes] | None = None,
    config: dict[str, Any] | None = None,
    file_format: str = "onnx",
    kind: str = "predictor",
    deploy: bool = True,
) -> ModelVersion:
    """A ready (and, by default, deployed) uploaded version with its model file and config.json."""
    model_name, content = model_file or ("model.onnx", linear_onnx())
    config = {"kind": kind, "features": FEATURES} if config is None else config
    folder.mkdir(parents=True, exist_ok=True)
    (folder / model_name).write_bytes(content)
    (folder / "config.json").write_text(json.dumps(config))
    version = service.create_version(
        session=session,
        name=name,
        algorithm=file_format,
        config=config,
        created_by=None,
        source="uploaded",
        kind=kind,
        file_format=file_format,
    )
    files.add(
        session=session,
        store=files.store_for(settings),
        version=version,
        files=[
            (model_name, "model", folder / model_name),
            ("artifacts/config.json", "artifact", folder / "config.json"),
        ],
    )
    version.status = VersionStatus.ready
    session.flush()
    if deploy:
        service.deploy(session=session, version=version, actor=None)
    session.commit()
    return version
