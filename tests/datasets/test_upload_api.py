"""Uploading datasets over HTTP (the SmartCommerce API's POST /api/upload-dataset/ and POST /api/v1/datasets),
and reading past imports back (GET /api/v1/datasets[/{id}])."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.catalog.models import Product
from relevo.core.config import Settings
from relevo.datasets.models import Dataset
from relevo.events.models import Event
from relevo.storage import bulk
from relevo.users.models import User
from tests.datasets.csv_files import csv_bytes, multipart
from tests.errors import assert_error_mentioning as assert_error

SMARTCOMMERCE_UPLOAD = "/api/upload-dataset/"
DATASETS = "/api/v1/datasets"
UPLOAD_ROUTES = [SMARTCOMMERCE_UPLOAD, DATASETS]

READ_FIELDS = {
    "dataset_id",
    "dataset_type",
    "filename",
    "content_sha256",
    "allow_duplicate",
    "status",
    "rows_imported",
    "rows_rejected",
    "rows_duplicate",
    "rejected_lines",
    "error",
    "created_at",
    "completed_at",
}


def upload(
    client: TestClient,
    headers: dict[str, str],
    content: bytes,
    dataset_type: str = "interactions",
    route: str = DATASETS,
    filename: str = "data.csv",
) -> dict[str, Any]:
    response = client.post(route, headers=headers, **multipart(content, dataset_type, filename))
    assert response.status_code == 201, response.text
    return response.json()


def count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
def test_upload_imports_interactions_and_reports_the_import(
    client: TestClient, admin_headers: dict[str, str], session: Session, route: str
) -> None:
    content = csv_bytes(
        "user_id,product_id,event_type,timestamp,event_id",
        "u1,p1,view,2024-03-01T12:00:00Z,e1",
        "u1,p2,purchase,1709294400,e2",
        ",p3,view,,",
        "u2,p1,view,2024-03-01T12:00:00+01:00,e1",
    )
    body = upload(client, admin_headers, content, route=route, filename="march.csv")
    assert set(body) == READ_FIELDS
    assert body["dataset_type"] == "interactions"
    assert body["filename"] == "march.csv"
    assert body["status"] == "imported"
    assert (body["rows_imported"], body["rows_rejected"], body["rows_duplicate"]) == (2, 1, 1)
    assert body["rejected_lines"] == [{"line": 4, "reason": "user_id: is empty"}]
    assert body["error"] is None
    assert body["created_at"].endswith("Z")
    assert body["completed_at"].endswith("Z")
    assert body["completed_at"] >= body["created_at"]
    dataset_ids = session.scalars(select(Event.dataset_id)).all()
    assert dataset_ids == [body["dataset_id"]] * 2


def test_both_upload_routes_answer_alike(client: TestClient, admin_headers: dict[str, str]) -> None:
    files = (csv_bytes("user_id,product_id", f"{user},p1", "u2,") for user in ("u1", "u3"))
    smartcommerce, canonical = (
        upload(client, admin_headers, content, route=route) for route, content in zip(UPLOAD_ROUTES, files, strict=True)
    )
    assert canonical["dataset_id"] == smartcommerce["dataset_id"] + 1
    ignored = {"dataset_id", "content_sha256", "created_at", "completed_at"}
    assert {k: v for k, v in smartcommerce.items() if k not in ignored} == {
        k: v for k, v in canonical.items() if k not in ignored
    }


def test_items_upload_stores_the_catalog(client: TestClient, make_account: Callable, auth: Callable) -> None:
    owner_headers = auth(make_account(Role.owner))
    store = client.post("/api/v1/store/", json={"name": "Corner Shop"}, headers=owner_headers)
    assert store.status_code == 201, store.text
    content = csv_bytes(
        "product_id,name,category,price,quantity,store_id,color",
        f"sku-1,Desk Lamp,Home > Furniture > Lamps,19.99,3,{store.json()['id']},blue",
        "sku-2,Chair,,-5,,,",
    )
    body = upload(client, owner_headers, content, dataset_type="items", route=SMARTCOMMERCE_UPLOAD)
    assert (body["dataset_type"], body["rows_imported"], body["rows_rejected"]) == ("items", 1, 1)
    assert body["rejected_lines"][0]["line"] == 3
    assert body["rejected_lines"][0]["reason"].startswith("price:")
    listed = client.get("/api/v1/store/products/", headers=owner_headers)
    assert listed.status_code == 200, listed.text
    [product] = listed.json()
    assert (product["name"], product["price"], product["quantity"]) == ("Desk Lamp", "19.99", 3)


def test_users_upload_stores_attributes(client: TestClient, admin_headers: dict[str, str], session: Session) -> None:
    body = upload(client, admin_headers, csv_bytes("user_id,segment", "u1,vip", "u2,"), dataset_type="users")
    assert (body["dataset_type"], body["rows_imported"], body["rows_rejected"]) == ("users", 2, 0)
    session.expire_all()
    attributes = dict(session.execute(select(User.external_id, User.attributes)).all())
    assert attributes == {"u1": {"segment": "vip"}, "u2": {}}


@pytest.mark.parametrize("role", [Role.admin, Role.owner, Role.service])
def test_writers_may_upload_and_are_recorded_as_the_uploader(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, session: Session, role: Role
) -> None:
    account = make_account(role)
    body = upload(client, auth(account), csv_bytes("user_id,product_id", "u1,p1"))
    assert session.get(Dataset, body["dataset_id"]).uploaded_by == account.id


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
def test_viewers_may_not_upload(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, session: Session, route: str
) -> None:
    headers = auth(make_account(Role.viewer))
    response = client.post(route, headers=headers, **multipart(csv_bytes("user_id,product_id", "u1,p1")))
    assert "events:write" in assert_error(response, 403)
    assert count(session, Dataset) == 0


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
def test_anonymous_callers_may_not_upload(client: TestClient, route: str) -> None:
    response = client.post(route, **multipart(csv_bytes("user_id,product_id", "u1,p1")))
    assert_error(response, 401, "Bearer")


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
@pytest.mark.parametrize(
    ("filename", "kept"),
    [("../../etc/passwd.csv", "passwd.csv"), ("..\\..\\windows\\win.csv", "win.csv"), ("/tmp/x/y.csv", "y.csv")],
)
def test_a_path_in_the_filename_is_dropped(
    client: TestClient, admin_headers: dict[str, str], route: str, filename: str, kept: str
) -> None:
    body = upload(client, admin_headers, csv_bytes("user_id,product_id", "u1,p1"), route=route, filename=filename)
    assert body["filename"] == kept


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
def test_an_unknown_dataset_type_is_refused_naming_it(
    client: TestClient, admin_headers: dict[str, str], route: str
) -> None:
    content = csv_bytes("user_id,product_id", "u1,p1")
    response = client.post(route, headers=admin_headers, **multipart(content, dataset_type="orders"))
    assert_error(response, 422, "dataset_type")


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
def test_a_missing_file_or_dataset_type_is_refused_naming_it(
    client: TestClient, admin_headers: dict[str, str], route: str
) -> None:
    no_file = client.post(route, headers=admin_headers, data={"dataset_type": "interactions"})
    assert_error(no_file, 422, "file")
    no_type = client.post(route, headers=admin_headers, files={"file": ("a.csv", b"user_id,product_id\n")})
    assert_error(no_type, 422, "dataset_type")


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
@pytest.mark.parametrize(
    ("content", "dataset_type", "words"),
    [
        (b"", "interactions", ["file", "empty"]),
        (csv_bytes("user_id,sku", "u1,p1"), "interactions", ["file", "missing: product_id"]),
        (csv_bytes("product_id,title", "p1,Lamp"), "items", ["file", "missing: name"]),
        (csv_bytes("user_id,product_id,user_id", "u1,p1,u1"), "interactions", ["file", "twice", "user_id"]),
        (b"user_id,product_id\nu1,p\xe91\n", "interactions", ["file", "UTF-8"]),
        (
            csv_bytes("user_id,product_id", *(f"u{n},p{n}" for n in range(3000))) + b"\xff,p\n",
            "interactions",
            ["UTF-8"],
        ),
    ],
)
def test_unusable_files_are_refused_and_nothing_is_stored(
    client: TestClient,
    admin_headers: dict[str, str],
    session: Session,
    route: str,
    content: bytes,
    dataset_type: str,
    words: list[str],
) -> None:
    response = client.post(route, headers=admin_headers, **multipart(content, dataset_type))
    assert_error(response, 400, *words)
    assert [count(session, model) for model in (Dataset, Event, User, Product)] == [0, 0, 0, 0]


def test_a_file_refused_after_its_first_stored_chunk_leaves_nothing_behind(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    good_rows = b"".join(f"u{n % 50},p{n % 70}\n".encode() for n in range(bulk.CHUNK_ROWS + 1000))
    content = b"user_id,product_id\n" + good_rows + b"u\xff,p1\n"
    response = client.post(DATASETS, headers=admin_headers, **multipart(content))
    assert_error(response, 400, "UTF-8")
    assert [count(session, model) for model in (Dataset, Event, User)] == [0, 0, 0]
    after = upload(client, admin_headers, csv_bytes("user_id,product_id", "u1,p1"))
    assert after["rows_imported"] == 1


def test_a_utf8_byte_order_mark_is_accepted(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = upload(client, admin_headers, "\ufeffUser_ID,Product_ID\nu1,p1\n".encode())
    assert (body["rows_imported"], body["rows_rejected"]) == (1, 0)


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
def test_a_body_over_the_upload_limit_is_refused_before_anything_is_stored(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session, route: str
) -> None:
    rows = settings.max_upload_bytes // len("u1,p1\n") + 1
    content = b"user_id,product_id\n" + b"u1,p1\n" * rows
    response = client.post(route, headers=admin_headers, **multipart(content))
    assert_error(response, 413, f"{settings.max_upload_mb} MB")
    assert count(session, Dataset) == 0
    assert count(session, Event) == 0


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    boundary = "relevo-test-boundary"
    opening = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="dataset_type"\r\n\r\ninteractions\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nuser_id,product_id\n"
    ).encode()
    chunk = b"u1,p1\n" * 20_000
    chunks = settings.max_upload_bytes // len(chunk) + 2

    def body():
        yield opening
        for _ in range(chunks):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**admin_headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post(DATASETS, headers=headers, content=body())
    assert_error(response, 413)
    assert count(session, Dataset) == 0


def test_a_body_just_under_the_limit_is_imported(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    row = b"u1,p1," + b"x" * 100_000 + b"\n"
    rows = (settings.max_upload_bytes - 1000) // len(row)
    body = upload(client, admin_headers, b"user_id,product_id,note\n" + row * rows)
    assert (body["rows_imported"], body["rows_rejected"]) == (rows, 0)


# Reading imports back


def test_datasets_are_listed_newest_first_with_a_cursor(client: TestClient, admin_headers: dict[str, str]) -> None:
    ids = [upload(client, admin_headers, csv_bytes("user_id,product_id", f"u{n},p{n}"))["dataset_id"] for n in range(3)]
    first = client.get(DATASETS, params={"limit": 2}, headers=admin_headers)
    assert first.status_code == 200, first.text
    assert [item["dataset_id"] for item in first.json()["items"]] == [ids[2], ids[1]]
    assert first.json()["next_cursor"]
    second = client.get(DATASETS, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin_headers)
    assert [item["dataset_id"] for item in second.json()["items"]] == [ids[0]]
    assert second.json()["next_cursor"] is None
    assert set(second.json()["items"][0]) == READ_FIELDS


def test_the_list_is_empty_before_any_upload(client: TestClient, make_account: Callable, auth: Callable) -> None:
    response = client.get(DATASETS, headers=auth(make_account(Role.viewer)))
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


def test_a_bad_cursor_or_limit_is_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert_error(client.get(DATASETS, params={"cursor": "abc"}, headers=admin_headers), 400, "cursor")
    assert_error(client.get(DATASETS, params={"limit": 0}, headers=admin_headers), 422, "limit")


def test_a_dataset_is_read_back_as_uploaded(
    client: TestClient, admin_headers: dict[str, str], make_account: Callable, auth: Callable
) -> None:
    owner_headers = auth(make_account(Role.owner))
    uploaded = upload(client, owner_headers, csv_bytes("user_id,product_id", "u1,p1", ",p2"))
    for headers in (owner_headers, admin_headers):
        response = client.get(f"{DATASETS}/{uploaded['dataset_id']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == uploaded


def test_datasets_are_their_uploaders_own(
    client: TestClient, admin_headers: dict[str, str], make_account: Callable, auth: Callable
) -> None:
    mine, theirs = auth(make_account(Role.owner)), auth(make_account(Role.owner))
    uploaded = upload(client, theirs, csv_bytes("user_id,product_id", "u1,p1"))
    assert_error(client.get(f"{DATASETS}/{uploaded['dataset_id']}", headers=mine), 404)
    assert client.get(DATASETS, headers=mine).json()["items"] == []
    listed = [dataset["dataset_id"] for dataset in client.get(DATASETS, headers=admin_headers).json()["items"]]
    assert uploaded["dataset_id"] in listed


def test_an_unknown_dataset_is_not_found(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert_error(client.get(f"{DATASETS}/999999", headers=admin_headers), 404, "dataset 999999")
    assert_error(client.get(f"{DATASETS}/abc", headers=admin_headers), 422, "dataset_id")


def test_reading_datasets_needs_a_token(client: TestClient) -> None:
    assert_error(client.get(DATASETS), 401)
    assert_error(client.get(f"{DATASETS}/1"), 401)
