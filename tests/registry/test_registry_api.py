"""The registry over HTTP: uploads of every safe format and back, pickle refused, names that try
to escape refused, content checked on every read, immutable versions, aliases, one deploy and
rollback for uploaded and trained models, the audit log, and who may do what."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from relevo.accounts.models import Account, Role
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import InvalidArgument
from relevo.registry.uploads import safe_name
from relevo.server.app import create_app
from relevo.storage.blobs import relative_path
from tests.errors import assert_error, assert_error_mentioning
from tests.registry import model_files

REGISTRY = "/api/v1/registry/models"
FORMATS = {
    "onnx": (
        "model.onnx",
        model_files.onnx_linear([1.0, 2.0]),
        model_files.config(features=["frequency", "recency_days"]),
    ),
    "skops": ("model.skops", model_files.skops_linear(), model_files.config(features=["frequency", "recency_days"])),
    "npz": ("factors.npz", model_files.factors_npz(), None),
}


def upload(
    client: TestClient,
    headers: dict,
    *,
    name: str = "spend",
    version: str | None = "1",
    model: tuple[str, bytes] = ("model.onnx", FORMATS["onnx"][1]),
    artifacts: list[tuple[str, bytes]] | None = None,
    deployment: bool = False,
):
    params = {"model_name": name, "model_description": "A test model", "deployment": deployment}
    if version is not None:
        params["model_version"] = version
    sent = [("model_file", (model[0], model[1], "application/octet-stream"))]
    sent += [
        ("artifact_files", (file_name, content, "application/octet-stream")) for file_name, content in artifacts or []
    ]
    return client.post("/upload_model", params=params, files=sent, headers=headers)


def raw_multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "relevo-test-boundary"
    body = b""
    for field, file_name, content in parts:
        disposition = f'Content-Disposition: form-data; name="{field}"; filename="{file_name}"'
        body += f"--{boundary}\r\n{disposition}\r\n".encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_each_safe_format_goes_up_and_comes_back_byte_for_byte(
    client: TestClient, admin_headers: dict, kind: str
) -> None:
    file_name, content, config = FORMATS[kind]
    artifacts = [("config.json", config)] if config else []

    answer = upload(client, admin_headers, model=(file_name, content), artifacts=artifacts, deployment=True)

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {"model_id", "model_version_id", "model_path", "artifact_paths", "status"}
    assert body["model_path"] == f"spend/1/{file_name}" and body["status"] == "deployed"
    assert body["artifact_paths"] == (["spend/1/artifacts/config.json"] if config else [])
    described = client.get("/get_model", params={"model_name": "spend", "model_version": "1"}, headers=admin_headers)
    assert described.status_code == 200, described.text
    assert described.json()["format"] == {"npz": "factors"}.get(kind, kind)
    assert described.json()["model_description"] == "A test model"
    downloaded = client.get(
        "/get_model", params={"model_name": "spend", "model_version": "1", "download": True}, headers=admin_headers
    )
    assert downloaded.status_code == 200 and downloaded.content == content
    assert downloaded.headers["x-content-sha256"] == described.json()["sha256"]
    if config:
        artifact = client.get(f"{REGISTRY}/spend/versions/1/download?file=artifacts/config.json", headers=admin_headers)
        assert artifact.content == config


def test_the_documents_own_pickle_example_is_refused_by_default_with_how_to_allow_it(
    client: TestClient, admin_headers: dict
) -> None:
    refused = upload(client, admin_headers, model=("Model_0.pkl", model_files.pickled()))

    assert_error_mentioning(refused, 415, "runs code", "RELEVO_ALLOW_PICKLE_MODELS=true", "ONNX", "skops")
    # Whatever its name says: a pickle in disguise is a pickle.
    assert_error_mentioning(upload(client, admin_headers, model=("model.onnx", model_files.pickled())), 415, "pickle")
    assert_error(
        client.get("/get_model", params={"model_name": "spend", "model_version": "1"}, headers=admin_headers), 404
    )


@pytest.fixture
def pickles_allowed(settings: Settings, database: Database) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings.model_copy(update={"allow_pickle_models": True}), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_pickles_once_allowed_come_from_admins_only(pickles_allowed: TestClient, admin_headers: dict) -> None:
    key = pickles_allowed.post(
        "/api/v1/api-keys", json={"name": "models", "scopes": ["models:manage"]}, headers=admin_headers
    ).json()["key"]

    from_a_key = upload(
        pickles_allowed, {"Authorization": f"Bearer {key}"}, model=("Model_0.pkl", model_files.pickled())
    )
    assert_error_mentioning(from_a_key, 403, "only admins")
    from_an_admin = upload(pickles_allowed, admin_headers, model=("Model_0.pkl", model_files.pickled()))
    assert from_an_admin.status_code == 201 and from_an_admin.json()["model_path"] == "spend/1/Model_0.pkl"
    # A safe format from the same key is fine.
    assert upload(pickles_allowed, {"Authorization": f"Bearer {key}"}, version="2").status_code == 201


@pytest.mark.parametrize("name", ["../x.onnx", "/etc/passwd.onnx", "..\\x.onnx", "a\x00.onnx", "dir/x.onnx", ".."])
def test_file_names_that_name_a_place_are_refused(
    client: TestClient, admin_headers: dict, settings: Settings, name: str
) -> None:
    # Sent as written: an HTTP client library would strip the folders from the name itself.
    for field in ("model_file", "artifact_files"):
        parts = [("model_file", "model.onnx", FORMATS["onnx"][1]), (field, name, b"{}")]
        if field == "model_file":
            parts = parts[1:]
        body, content_type = raw_multipart(parts)
        refused = client.post(
            "/upload_model",
            params={"model_name": "spend"},
            content=body,
            headers={**admin_headers, "Content-Type": content_type},
        )
        assert refused.status_code in (400, 422), refused.text
        assert field in refused.json()["details"]
    assert not (settings.resolved_artifacts_dir.parent / "x.onnx").exists()


@pytest.mark.parametrize("name", ["C:\\x.onnx", "C:x.onnx", "\\\\server\\share\\x.onnx", "a/../b", "..%2Fx", "a%00b"])
def test_the_name_check_refuses_windows_paths_and_encoded_escapes(name: str) -> None:
    with pytest.raises(InvalidArgument, match="model_file"):
        safe_name(name, field="model_file")


def test_other_names_are_made_safe(client: TestClient, admin_headers: dict) -> None:
    answer = upload(client, admin_headers, model=("my model (v1).onnx", FORMATS["onnx"][1]))
    assert answer.status_code == 201 and answer.json()["model_path"] == "spend/1/my_model_v1_.onnx"


def test_a_version_never_changes_a_second_upload_is_409(client: TestClient, admin_headers: dict) -> None:
    assert upload(client, admin_headers).status_code == 201
    assert_error_mentioning(upload(client, admin_headers), 409, "version 1", "never change")
    assert upload(client, admin_headers, version=None).json()["model_path"] == "spend/2/model.onnx"
    assert_error_mentioning(upload(client, admin_headers, version="1.2"), 400, "model_version")


def test_content_is_checked_on_every_read(client: TestClient, admin_headers: dict, settings: Settings) -> None:
    upload(client, admin_headers)
    sha256 = client.get("/get_model", params={"model_name": "spend"}, headers=admin_headers)
    assert sha256.status_code == 404  # nothing deployed: the deployed version is asked for
    sha256 = client.get(f"{REGISTRY}/spend/versions/1", headers=admin_headers).json()["files"][0]["sha256"]
    stored = settings.resolved_artifacts_dir / relative_path(sha256)
    stored.write_bytes(stored.read_bytes() + b"tampered")

    damaged = client.get(f"{REGISTRY}/spend/versions/1/download", headers=admin_headers)
    assert_error_mentioning(damaged, 503, "model.onnx", "SHA-256")


def test_a_trained_version_whose_files_changed_does_not_serve(
    client: TestClient, admin_headers: dict, trained: dict, settings: Settings
) -> None:
    files = client.get(f"{REGISTRY}/default/versions/1", headers=admin_headers).json()["files"]
    arrays = next(file for file in files if file["name"] == "arrays.npz")
    stored = settings.resolved_artifacts_dir / relative_path(arrays["sha256"])
    stored.write_bytes(b"PK\x03\x04 not the arrays it was")

    answer = client.get("/api/v1/recommendations/u1", headers=admin_headers)
    assert_error_mentioning(answer, 503, "arrays.npz", "SHA-256")


def test_trained_versions_are_in_the_registry_with_their_files(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    models = {model["name"]: model for model in client.get(REGISTRY, headers=admin_headers).json()}
    assert models["default"]["deployed_version"] == 1
    version = client.get(f"{REGISTRY}/default/versions/1", headers=admin_headers).json()
    assert version["source"] == "trained" and version["kind"] == "recommender" and version["format"] == "relevo"
    assert {"arrays.npz", "manifest.json", "bought.npz"} <= {file["name"] for file in version["files"]}
    listed = client.get("/get_model", params={"model_name": "default", "model_version": "1"}, headers=admin_headers)
    assert listed.json()["model_path"] == "default/1" and "default/1/manifest.json" in listed.json()["artifact_paths"]
    single = client.get(
        "/get_model", params={"model_name": "default", "model_version": "1", "download": True}, headers=admin_headers
    )
    assert_error_mentioning(single, 404, "one by one", "arrays.npz")
    manifest = client.get(f"{REGISTRY}/default/versions/1/download?file=manifest.json", headers=admin_headers)
    assert manifest.status_code == 200 and manifest.json()["algorithm"] == "hybrid"


def test_aliases_point_at_a_version_and_move(client: TestClient, admin_headers: dict) -> None:
    upload(client, admin_headers, version="1")
    upload(client, admin_headers, version="2")

    made = client.put(f"{REGISTRY}/spend/aliases/champion", json={"version": 1}, headers=admin_headers)
    assert made.status_code == 200 and made.json()["version"] == 1
    by_alias = client.get(
        "/get_model", params={"model_name": "spend", "model_version": "champion"}, headers=admin_headers
    )
    assert by_alias.json()["model_version"] == 1
    client.put(f"{REGISTRY}/spend/aliases/champion", json={"version": 2}, headers=admin_headers)
    assert client.get(f"{REGISTRY}/spend/versions/champion", headers=admin_headers).json()["version"] == 2
    assert client.get(f"{REGISTRY}/spend", headers=admin_headers).json()["aliases"] == {"champion": 2}
    assert client.get(f"{REGISTRY}/spend/versions/1", headers=admin_headers).json()["aliases"] == []

    assert_error(client.put(f"{REGISTRY}/spend/aliases/7up", json={"version": 1}, headers=admin_headers), 422)
    assert_error(client.put(f"{REGISTRY}/spend/aliases/next", json={"version": 9}, headers=admin_headers), 404)
    assert client.delete(f"{REGISTRY}/spend/aliases/champion", headers=admin_headers).status_code == 204
    assert_error_mentioning(client.get(f"{REGISTRY}/spend/versions/champion", headers=admin_headers), 404, "champion")


def test_uploaded_and_trained_versions_deploy_and_roll_back_alike(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    upload(
        client, admin_headers, name="default", version=None, model=("factors.npz", FORMATS["npz"][1]), deployment=True
    )
    assert client.get(f"{REGISTRY}/default", headers=admin_headers).json()["deployed_version"] == 2

    rolled = client.post(f"{REGISTRY}/default/rollback", headers=admin_headers)
    assert rolled.status_code == 200 and rolled.json()["version"] == 1 and rolled.json()["source"] == "trained"
    again = client.post(f"{REGISTRY}/default/versions/2/deploy", headers=admin_headers)
    assert again.json()["status"] == "deployed" and again.json()["source"] == "uploaded"
    assert client.get("/api/v1/models/default/metrics", headers=admin_headers).json()["version"] == 2


def test_deleting_never_touches_the_deployed_version_and_frees_unused_files(
    client: TestClient, admin_headers: dict, settings: Settings
) -> None:
    upload(client, admin_headers, version="1", deployment=True)
    upload(client, admin_headers, version="2", model=("model.skops", FORMATS["skops"][1]))
    sha256 = client.get(f"{REGISTRY}/spend/versions/2", headers=admin_headers).json()["files"][0]["sha256"]

    assert_error_mentioning(client.delete(f"{REGISTRY}/spend/versions/1", headers=admin_headers), 409, "deployed")
    assert client.delete(f"{REGISTRY}/spend/versions/2", headers=admin_headers).status_code == 204
    assert_error(client.get(f"{REGISTRY}/spend/versions/2", headers=admin_headers), 404)
    assert not (settings.resolved_artifacts_dir / relative_path(sha256)).exists()
    archived = client.post(f"{REGISTRY}/spend/versions/1/archive", headers=admin_headers)
    assert_error_mentioning(archived, 409, "deployed")


def test_every_change_is_in_the_audit_log_which_only_admins_read(
    client: TestClient, admin_headers: dict, make_account: Callable[..., Account], auth: Callable, database: Database
) -> None:
    upload(client, admin_headers, version="1", deployment=True)
    upload(client, admin_headers, version="2")
    client.post(f"{REGISTRY}/spend/versions/2/deploy", headers=admin_headers)
    client.post(f"{REGISTRY}/spend/rollback", headers=admin_headers)
    client.put(f"{REGISTRY}/spend/aliases/champion", json={"version": 2}, headers=admin_headers)
    client.post(f"{REGISTRY}/spend/versions/2/archive", headers=admin_headers)
    client.delete(f"{REGISTRY}/spend/versions/2", headers=admin_headers)

    log = client.get("/api/v1/registry/audit", params={"name": "spend"}, headers=admin_headers)
    entries = [(entry["action"], entry["version"]) for entry in reversed(log.json()["items"])]
    assert entries == [
        ("upload", 1),
        ("deploy", 1),
        ("upload", 2),
        ("deploy", 2),
        ("rollback", 1),
        ("alias_set", 2),
        ("archive", 2),
        ("delete", 2),
    ]
    assert all(entry["account_id"] is not None and entry["occurred_at"] for entry in log.json()["items"])
    viewer = auth(make_account(Role.viewer))
    assert_error(client.get("/api/v1/registry/audit", headers=viewer), 403)
    with database.session() as session:
        for statement in ("UPDATE registry_audit SET action = 'nothing'", "DELETE FROM registry_audit"):
            with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
                session.execute(text(statement))


def test_reading_needs_a_token_and_changing_needs_models_manage(
    client: TestClient, admin_headers: dict, make_account: Callable[..., Account], auth: Callable
) -> None:
    upload(client, admin_headers)
    viewer = auth(make_account(Role.viewer))
    reads = [f"{REGISTRY}", f"{REGISTRY}/spend", f"{REGISTRY}/spend/versions", f"{REGISTRY}/spend/versions/1"]
    changes = [
        ("post", f"{REGISTRY}/spend/versions/1/deploy"),
        ("post", f"{REGISTRY}/spend/rollback"),
        ("post", f"{REGISTRY}/spend/versions/1/archive"),
        ("delete", f"{REGISTRY}/spend/versions/1"),
        ("delete", f"{REGISTRY}/spend/aliases/champion"),
        ("get", f"{REGISTRY}/spend/versions/1/download"),
        ("get", "/get_model?model_name=spend&model_version=1"),
    ]
    for path in reads:
        assert_error(client.get(path), 401)
        assert client.get(path, headers=viewer).status_code == 200
    for method, path in changes:
        assert_error(client.request(method, path), 401)
        assert_error(client.request(method, path, headers=viewer), 403)
    assert_error(upload(client, {}, version="2"), 401)
    assert_error(upload(client, viewer, version="2"), 403)


@pytest.fixture
def small_uploads(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"max_model_upload_mb": 1, "max_upload_mb": 1}), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_uploads_are_size_limited(small_uploads: TestClient, admin_headers: dict) -> None:
    large = upload(small_uploads, admin_headers, model=("model.onnx", b"\0" * (2 * 1024 * 1024)))
    assert_error_mentioning(large, 413, "1 MB")


@pytest.fixture
def object_store(settings: Settings, database: Database, tmp_path: Path) -> Iterator[TestClient]:
    """The registry in an fsspec file system (its local one here: S3 cannot run in the tests;
    the code path is fsspec's, the same for every protocol)."""
    url = f"file://{tmp_path / 'shared-registry'}"
    app = create_app(settings.model_copy(update={"registry_url": url}), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_object_store_holds_the_files_and_a_fresh_cache_reads_them_back(
    object_store: TestClient, admin_headers: dict, settings: Settings, tmp_path: Path
) -> None:
    content = FORMATS["onnx"][1]
    upload(object_store, admin_headers)
    sha256 = object_store.get(f"{REGISTRY}/spend/versions/1", headers=admin_headers).json()["files"][0]["sha256"]
    remote = tmp_path / "shared-registry" / relative_path(sha256)
    assert remote.read_bytes() == content
    cached = settings.resolved_artifacts_dir / "cache" / relative_path(sha256)
    cached.unlink()  # another machine: nothing cached yet

    downloaded = object_store.get(f"{REGISTRY}/spend/versions/1/download", headers=admin_headers)
    assert downloaded.content == content and cached.exists()


def test_a_name_that_serves_lists_is_never_switched_to_a_predictor(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    predictor = upload(
        client, admin_headers, name="default", version=None, artifacts=[("config.json", FORMATS["onnx"][2])]
    )
    assert predictor.status_code == 201 and predictor.json()["status"] == "registered"

    refused = client.post(f"{REGISTRY}/default/versions/2/deploy", headers=admin_headers)
    assert_error_mentioning(refused, 409, "predictor", "serves a recommender", "a name of its own")
    assert client.get("/api/v1/recommendations/u1", headers=admin_headers).status_code == 200
