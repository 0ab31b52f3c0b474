"""What an uploaded model file is, told from its name and its first bytes: a safe format Relevo
loads (ONNX, skops, Relevo's own .npz), or a pickle in any of its disguises (pickle, joblib,
PyTorch checkpoints), which runs code when loaded and is refused unless an operator allows it."""

import zipfile
from enum import StrEnum
from pathlib import Path

from relevo.core.errors import InvalidArgument


class ModelFormat(StrEnum):
    onnx = "onnx"
    skops = "skops"
    factors = "factors"  # Relevo's .npz layout of user and item factors (bring your own recommender)
    relevo = "relevo"  # Relevo's own arrays and manifest (what Relevo trains)
    pickle = "pickle"
    joblib = "joblib"


UNSAFE = frozenset({ModelFormat.pickle, ModelFormat.joblib})
SAFE_SUFFIXES = (".onnx", ".skops", ".npz")
_PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".p", ".pt", ".pth", ".ckpt", ".bin", ".dill", ".sav"})
_JOBLIB_SUFFIXES = frozenset({".joblib", ".jbl"})
_ZIP = b"PK\x03\x04"
# A pickle of protocol 2 or later opens with PROTO; joblib's compressed files with their codec's magic.
_PICKLE_HEADS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))
_COMPRESSED_HEADS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"ZF", b"x\x9c", b"x\x01", b"x\xda")

PICKLE_REFUSAL = (
    "{field}: {name!r} is a {format} file, which runs code when it is loaded, so Relevo does not accept it. "
    "Save the model as ONNX (skl2onnx, torch.onnx.export), with skops (skops.io.dump) or in Relevo's .npz layout "
    "(docs/registry.md); an operator who trusts every admin can allow pickle and joblib files with "
    "RELEVO_ALLOW_PICKLE_MODELS=true, and then only admins may upload them"
)


def detect(path: Path, name: str, *, field: str = "model_file") -> ModelFormat:
    """The file's format; InvalidArgument naming the field when Relevo cannot tell or load it."""
    suffix = Path(name).suffix.lower()
    with path.open("rb") as stream:
        head = stream.read(8)
    if suffix in _JOBLIB_SUFFIXES:
        return ModelFormat.joblib
    if head.startswith(_PICKLE_HEADS) or suffix in _PICKLE_SUFFIXES:
        return ModelFormat.pickle
    if head.startswith(_ZIP) and _zip_holds_pickle(path):
        return ModelFormat.pickle  # a PyTorch checkpoint or any archive of pickles, whatever its name
    if suffix == ".onnx":
        return ModelFormat.onnx
    if suffix == ".skops":
        _require_zip(head, name, field)
        return ModelFormat.skops
    if suffix == ".npz":
        _require_zip(head, name, field)
        return ModelFormat.factors
    if head.startswith(_COMPRESSED_HEADS):
        return ModelFormat.joblib
    raise InvalidArgument(
        f"{field}: cannot tell the format of {name!r}; Relevo loads ONNX (.onnx), skops (.skops) and its own "
        ".npz layout (docs/registry.md)"
    )


def _require_zip(head: bytes, name: str, field: str) -> None:
    if not head.startswith(_ZIP):
        raise InvalidArgument(f"{field}: {name!r} is not the zip archive its name says it is")


def _zip_holds_pickle(path: Path) -> bool:
    """Whether an archive holds a pickle (read from its index only: nothing is extracted)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(Path(member).suffix.lower() in _PICKLE_SUFFIXES for member in names)
