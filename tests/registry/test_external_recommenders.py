"""Uploaded recommenders, loaded from their files: factors and ONNX scorers answer through the
engine's stages (history, exclusions, filters, top k), and uploads that break the layout are
refused naming the file and the problem."""

import json
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from relevo.core.errors import InvalidArgument
from relevo.engine.algorithms.factors import ExternalFactors
from relevo.registry.external_recommenders import (
    check_upload,
    fallback_popularity,
    load_recommender,
)
from relevo.registry.onnx_recommender import OnnxScorer
from tests.registry.recommender_files import (
    ITEMS,
    factors_layout,
    item_links,
    save_factors,
    save_onnx,
    scorer,
)

ONNX_CONFIG = {"kind": "recommender", "item_ids": ITEMS}


def onnx_recommender(tmp_path: Path, model=None, config: dict | None = None, **artifacts: Path) -> OnnxScorer:
    path = save_onnx(model if model is not None else scorer(), tmp_path / "model.onnx")
    # item_ids_json=path → the artifact "item_ids.json"
    named = {"artifacts/{}.{}".format(*name.rsplit("_", 1)): value for name, value in artifacts.items()}
    paths = {"model.onnx": path, **named}
    return load_recommender(file_format="onnx", paths=paths, config=ONNX_CONFIG if config is None else config)


def test_factors_load_from_the_model_file_and_describe_themselves(tmp_path: Path) -> None:
    layout = factors_layout()
    path = save_factors(layout, tmp_path / "model.npz")
    paths = {"model.npz": path, "artifacts/config.json": tmp_path / "config.json"}
    model = load_recommender(file_format="factors", paths=paths, config={})
    assert isinstance(model, ExternalFactors)
    user = model.recommend("U2", 3, exclude_history=False)
    scores = layout["item_factors"] @ layout["user_factors"][1]
    assert user.for_user()[0] == [ITEMS[index] for index in np.argsort(-scores)[:3]]
    described = check_upload(file_format="factors", paths=paths, config={"kind": "recommender"})
    assert described == {"users": 6, "items": 12, "factors": 4, "item_popularity": False}


def test_a_factors_file_that_breaks_the_layout_is_refused_naming_the_file(tmp_path: Path) -> None:
    layout = factors_layout()
    del layout["item_factors"]
    path = save_factors(layout, tmp_path / "model.npz")
    with pytest.raises(InvalidArgument, match=r"model\.npz: item_factors: missing"):
        check_upload(file_format="factors", paths={"model.npz": path}, config={})


def test_factors_said_to_be_a_predictor_are_refused(tmp_path: Path) -> None:
    path = save_factors(factors_layout(), tmp_path / "model.npz")
    with pytest.raises(InvalidArgument, match="\"kind\" is 'predictor'"):
        load_recommender(file_format="factors", paths={"model.npz": path}, config={"kind": "predictor"})


@pytest.mark.parametrize("kind_of_file", ["skops", "relevo", "pickle"])
def test_formats_that_are_not_recommenders_are_refused(kind_of_file: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=f"format: '{kind_of_file}' models are not recommenders"):
        load_recommender(file_format=kind_of_file, paths={"model.bin": tmp_path / "model.bin"}, config={})


def test_an_onnx_scorer_ranks_from_the_users_weights(tmp_path: Path) -> None:
    model = onnx_recommender(tmp_path)
    assert check_upload(file_format="onnx", paths={"model.onnx": tmp_path / "model.onnx"}, config=ONNX_CONFIG) == {
        "items": 12
    }
    # Touched P003: P004 (linked 2), P005 (linked 1), then the base order; P003 itself left out.
    ids = model.recommend("anyone", 4, recent=[{"P003": 1.0}]).for_user()[0]
    assert ids == ["P004", "P005", "P001", "P002"]
    # With no history at all: the base order.
    assert model.recommend("anyone", 3).for_user()[0] == ["P001", "P002", "P003"]


def test_an_onnx_scorer_honours_exclusions_and_filters(tmp_path: Path) -> None:
    model = onnx_recommender(tmp_path)
    allowed = np.array([item not in ("P005", "P001") for item in ITEMS])
    ids = model.recommend(
        ["a", "b"], 3, recent=[{"P003": 1.0}, {"P010": 2.0}], exclude=[["P004"], []], allowed=allowed
    ).ids.tolist()
    assert ids == [["P002", "P006", "P007"], ["P011", "P012", "P002"]]


def test_a_batch_runs_as_single_users_do_even_when_the_model_fixes_its_batch(tmp_path: Path) -> None:
    free = onnx_recommender(tmp_path)
    fixed = onnx_recommender(tmp_path, scorer(batch=1))
    users = [f"user-{number}" for number in range(5)]
    recent = [{ITEMS[number]: 1.0 + number} for number in range(5)]
    batch = free.recommend(users, 4, recent=recent)
    np.testing.assert_array_equal(fixed.recommend(users, 4, recent=recent).ids, batch.ids)
    for row, user in enumerate(users):
        np.testing.assert_array_equal(free.recommend(user, 4, recent=[recent[row]]).ids[0], batch.ids[row])


def test_similar_items_are_what_the_scorer_recommends_for_the_item_alone(tmp_path: Path) -> None:
    model = onnx_recommender(tmp_path)
    ids, scores = model.similar_items("P012", 3)
    assert ids.tolist() == ["P001", "P002", "P003"]  # P012 links to P001 (2), P002 (1)
    assert scores.tolist() == sorted(scores.tolist(), reverse=True)
    assert len(model.similar_items("not-an-item")[0]) == 0


def test_item_ids_come_from_an_artifact_when_config_json_has_none(tmp_path: Path) -> None:
    listed = tmp_path / "ids.json"
    listed.write_text(json.dumps(ITEMS))
    lines = tmp_path / "ids.txt"
    lines.write_text("\n".join(ITEMS) + "\n")
    for artifact in ({"item_ids_json": listed}, {"item_ids_txt": lines}):
        model = onnx_recommender(tmp_path, config={"kind": "recommender"}, **artifact)
        assert model.items.ids.tolist() == ITEMS


def test_the_fallback_for_users_with_no_history_is_the_models_own_order(tmp_path: Path) -> None:
    model = onnx_recommender(tmp_path)
    popularity = fallback_popularity(model)
    assert [ITEMS[index] for index in np.argsort(-popularity)[:3]] == ["P001", "P002", "P003"]
    assert (popularity > 0).all()
    layout = factors_layout(item_popularity=np.arange(12, dtype=np.float64))
    factors = load_recommender(
        file_format="factors", paths={"m.npz": save_factors(layout, tmp_path / "m.npz")}, config={}
    )
    np.testing.assert_array_equal(fallback_popularity(factors), np.arange(12, dtype=np.float32))


def two_inputs() -> object:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["scores"])],
        "two",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 12]) for name in ("a", "b")],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 12])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def one_node(node: str, input_type: int, output_type: int, shape: list, **attributes: object) -> object:
    graph = helper.make_graph(
        [helper.make_node(node, ["weights"], ["scores"], **attributes)],
        "one",
        [helper.make_tensor_value_info("weights", input_type, shape)],
        [helper.make_tensor_value_info("scores", output_type, shape)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def wrong_width() -> object:
    """Declares [batch, width] but gives one column less than there are items."""
    graph = helper.make_graph(
        [helper.make_node("Slice", ["weights", "start", "end", "axis"], ["scores"])],
        "narrow",
        [helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["batch", "width"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "width_less"])],
        [
            numpy_helper.from_array(np.array([value], dtype=np.int64), name)
            for name, value in (("start", 1), ("end", 1000), ("axis", 1))
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def nan_scores() -> object:
    """Scores 0 / 0 for an empty row."""
    graph = helper.make_graph(
        [helper.make_node("Div", ["weights", "weights"], ["scores"])],
        "nan",
        [helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["batch", 12])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 12])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def external_weights(tmp_path: Path) -> object:
    model = scorer()
    links = model.graph.initializer[0]
    (tmp_path / "links.bin").write_bytes(numpy_helper.to_array(links).tobytes())
    links.ClearField("raw_data")
    links.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "links.bin"), ("offset", "0"), ("length", str(12 * 12 * 4))):
        entry = links.external_data.add()
        entry.key, entry.value = key, value
    return model


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda _: two_inputs(), r"2 inputs \('a', 'b'\); the layout has one"),
        (
            lambda _: one_node("Identity", TensorProto.DOUBLE, TensorProto.DOUBLE, ["b", 12]),
            "input 'weights': of type tensor\\(double\\)",
        ),
        (
            lambda _: one_node("Cast", TensorProto.FLOAT, TensorProto.INT64, ["b", 12], to=TensorProto.INT64),
            "output 'scores': of type tensor\\(int64\\)",
        ),
        (
            lambda _: one_node("Identity", TensorProto.FLOAT, TensorProto.FLOAT, ["b", 3, 12]),
            "input 'weights': shape .*; must be \\[batch, items\\], rank 2",
        ),
        (lambda _: scorer(item_links(10)), "input 'weights': 10 columns, but there are 12 item ids"),
        (lambda _: wrong_width(), r"1 row\(s\) gave shape \[1, 11\]; must be \[1, 12\]"),
        (lambda _: nan_scores(), "NaN scores for a user with no history"),
        (external_weights, "its weights are in external files"),
    ],
)
def test_an_onnx_model_off_the_layout_is_refused_at_load(make, problem: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"model\.onnx: .*" + problem):
        onnx_recommender(tmp_path, make(tmp_path))


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x80\x04not a model")
    with pytest.raises(InvalidArgument, match=r"model\.onnx: onnxruntime cannot load it"):
        load_recommender(file_format="onnx", paths={"model.onnx": path}, config=ONNX_CONFIG)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"kind": "predictor", "item_ids": ITEMS}, "\"kind\" is 'predictor'"),
        ({"item_ids": ITEMS}, '"kind" is None'),
        ({"kind": "recommender"}, "item_ids: an ONNX recommender needs its item ids"),
        ({"kind": "recommender", "item_ids": "P001"}, "config.json: item_ids: must be a list of strings"),
        ({"kind": "recommender", "item_ids": [*ITEMS[:-1], "P001"]}, "the id 'P001' appears more than once"),
        ({"kind": "recommender", "item_ids": ["", *ITEMS[1:]]}, "the id at position 0 is empty"),
        ({"kind": "recommender", "item_ids": []}, "config.json: item_ids: empty"),
    ],
)
def test_an_onnx_recommenders_config_is_checked(config: dict, problem: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=problem):
        onnx_recommender(tmp_path, config=config)


def test_item_ids_artifacts_that_are_not_lists_of_ids_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "ids.json"
    broken.write_text("{not json")
    with pytest.raises(InvalidArgument, match=r"artifacts/item_ids\.json: not JSON"):
        onnx_recommender(tmp_path, config={"kind": "recommender"}, item_ids_json=broken)
    binary = tmp_path / "ids.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidArgument, match=r"artifacts/item_ids\.txt: not UTF-8"):
        onnx_recommender(tmp_path, config={"kind": "recommender"}, item_ids_txt=binary)
