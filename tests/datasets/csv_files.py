"""CSV files the dataset tests upload and import: built from lines, as bytes."""

import io
from typing import Any

INTERACTIONS_HEADER = "user_id,product_id,event_type,timestamp,value,event_id,session_id"


def csv_bytes(*lines: str) -> bytes:
    """The lines joined with newlines (one after the last), as UTF-8."""
    return "".join(f"{line}\n" for line in lines).encode()


def csv_stream(*lines: str) -> io.BytesIO:
    return io.BytesIO(csv_bytes(*lines))


def multipart(content: bytes, dataset_type: str = "interactions", filename: str = "data.csv") -> dict[str, Any]:
    """Keyword arguments for TestClient.post that upload `content` as a dataset."""
    return {"files": {"file": (filename, content, "text/csv")}, "data": {"dataset_type": dataset_type}}
