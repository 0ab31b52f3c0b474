"""Small model files of every format, made in the test run (nothing binary is committed)."""

import io
import json
import pickle

import numpy as np
import onnx
from onnx import TensorProto, helper


def onnx_linear(weights: list[float], bias: float = 0.0) -> bytes:
    """An ONNX regressor: features [batch, len(weights)] → prediction [batch, 1]."""
    width = len(weights)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "weights"], ["product"]),
            helper.make_node("Add", ["product", "bias"], ["prediction"]),
        ],
        "linear",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["batch", 1])],
        [
            helper.make_tensor("weights", TensorProto.FLOAT, [width, 1], weights),
            helper.make_tensor("bias", TensorProto.FLOAT, [1], [bias]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def skops_linear() -> bytes:
    from sklearn.linear_model import LinearRegression
    from skops.io import dumps

    features = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    return dumps(LinearRegression().fit(features, features @ np.array([2.0, 3.0]) + 1.0))


def factors_npz(users: int = 4, items: int = 6, dimension: int = 3) -> bytes:
    generator = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        user_ids=np.array([f"u{index}" for index in range(users)]),
        item_ids=np.array([f"P{index:06d}" for index in range(items)]),
        user_factors=generator.normal(size=(users, dimension)).astype(np.float32),
        item_factors=generator.normal(size=(items, dimension)).astype(np.float32),
    )
    return buffer.getvalue()


def pickled() -> bytes:
    """What the model-serving API's own example uploads: a pickle (here of a harmless dict)."""
    return pickle.dumps({"coefficients": [1.0, 2.0]}, protocol=4)


def config(**document: object) -> bytes:
    return json.dumps(document).encode()
