"""The documented `.npz` layout of factors a shop trained elsewhere (docs/registry.md), read and
checked: every problem named with its array, before anything large is read.

    user_ids         (users,)        str          the shop's user ids, each once
    item_ids         (items,)        str          the shop's product ids, each once
    user_factors     (users, d)      float        row u is user_ids[u]'s factor
    item_factors     (items, d)      float        row i is item_ids[i]'s factor
    item_popularity  (items,)        float, int   optional: ≥ 0, for users nothing is known of
    regularization   ()              float, int   optional: ≥ 0, the fold-in's ridge

Sizes are read from each array's header first, so an upload that declares a huge array is
refused without allocating it; arrays are loaded without pickle."""

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from relevo.engine.algorithms.factorization import MAX_FACTORS
from relevo.engine.algorithms.factors import ExternalFactors

REQUIRED = ("user_ids", "item_ids", "user_factors", "item_factors")
OPTIONAL = ("item_popularity", "regularization")
MAX_USERS = 20_000_000
MAX_ITEMS = 5_000_000
# Users' and items' factors together, as float32: 1 GiB held in memory by each serving process.
MAX_FACTOR_VALUES = 2**28
MAX_ID_LENGTH = 255  # the longest user or product id Relevo stores


class LayoutError(ValueError):
    """The upload does not follow the layout; the message names the array and the problem."""


def read_layout(path: Path) -> ExternalFactors:
    """The model in the `.npz` file at `path`; LayoutError naming what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            headers = _headers(stored.zip)
            check_headers(headers)
            arrays = {name: stored[name] for name in headers}
    except LayoutError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise LayoutError(f"not a readable .npz file (numpy.savez): {exc}") from None
    return from_arrays(arrays)


def from_arrays(arrays: Mapping[str, np.ndarray]) -> ExternalFactors:
    """The model of these arrays; LayoutError naming what is wrong."""
    check_headers({name: (np.asarray(value).shape, np.asarray(value).dtype) for name, value in arrays.items()})
    user_ids, item_ids = _ids(arrays, "user_ids"), _ids(arrays, "item_ids")
    user_factors, item_factors = _finite(arrays, "user_factors"), _finite(arrays, "item_factors")
    popularity = _finite(arrays, "item_popularity") if "item_popularity" in arrays else None
    if popularity is not None and (popularity < 0).any():
        raise LayoutError("item_popularity: must not be negative")
    regularization = None
    if "regularization" in arrays:
        regularization = float(_finite(arrays, "regularization").reshape(-1)[0])
        if regularization < 0:
            raise LayoutError("regularization: must not be negative")
    return ExternalFactors.from_factors(
        user_ids=user_ids,
        item_ids=item_ids,
        user_factors=user_factors,
        item_factors=item_factors,
        item_popularity=popularity,
        regularization=regularization,
    )


def check_headers(headers: Mapping[str, tuple[tuple[int, ...], np.dtype]]) -> None:
    """Names, dtypes and shapes (from the arrays' headers: nothing loaded yet)."""
    missing = [name for name in REQUIRED if name not in headers]
    if missing:
        raise LayoutError(f"{missing[0]}: missing; the layout needs the arrays {', '.join(REQUIRED)}")
    unknown = sorted(set(headers) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise LayoutError(f"{unknown[0]}: not an array of the layout ({', '.join(REQUIRED + OPTIONAL)})")
    for name, (_, dtype) in headers.items():
        if dtype.hasobject:
            raise LayoutError(f"{name}: an array of Python objects; save {_kind(name)} (no pickle)")
        if name.endswith("_ids") and dtype.kind != "U":
            raise LayoutError(f"{name}: must be strings (numpy dtype '<U'), not {dtype}; convert with .astype(str)")
        if not name.endswith("_ids") and dtype.kind not in "fiu":
            raise LayoutError(f"{name}: must be {_kind(name)}, not {dtype}")
    users, items = _length(headers, "user_ids", MAX_USERS), _length(headers, "item_ids", MAX_ITEMS)
    if items == 0:
        raise LayoutError("item_ids: empty; there must be at least one item")
    factors = []
    for name, rows in (("user_factors", users), ("item_factors", items)):
        shape, dtype = headers[name]
        if dtype.kind != "f":
            raise LayoutError(f"{name}: must be floats, not {dtype}")
        if len(shape) != 2 or shape[0] != rows:
            ids = name.replace("factors", "ids")
            raise LayoutError(f"{name}: shape {shape}; must be ({rows}, d): one row per entry of {ids}")
        factors.append(shape[1])
    if factors[0] != factors[1]:
        raise LayoutError(f"item_factors: {factors[1]} columns, but user_factors has {factors[0]}; they must agree")
    if not 1 <= factors[0] <= MAX_FACTORS:
        raise LayoutError(f"user_factors: {factors[0]} factors; between 1 and {MAX_FACTORS}")
    if (users + items) * factors[0] > MAX_FACTOR_VALUES:
        raise LayoutError(
            f"user_factors: with item_factors, {(users + items) * factors[0]:,} values; at most {MAX_FACTOR_VALUES:,}"
        )
    if "item_popularity" in headers and headers["item_popularity"][0] != (items,):
        raise LayoutError(f"item_popularity: shape {headers['item_popularity'][0]}; must be ({items},), one per item")
    if "regularization" in headers and int(np.prod(headers["regularization"][0])) != 1:
        raise LayoutError(f"regularization: shape {headers['regularization'][0]}; must be one number")


def _headers(archive: zipfile.ZipFile) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array's shape and dtype as its `.npy` header declares them."""
    headers = {}
    for member in archive.namelist():
        name = member.removesuffix(".npy")
        if name == member or name in headers:
            raise LayoutError(f"{member}: not an array of numpy.savez (or stored twice)")
        with archive.open(member) as stream:
            try:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            except ValueError as exc:
                raise LayoutError(f"{name}: not a numpy array ({exc})") from None
        headers[name] = (shape, dtype)
    return headers


def _length(headers: Mapping[str, tuple[tuple[int, ...], np.dtype]], name: str, most: int) -> int:
    shape, dtype = headers[name]
    if len(shape) != 1:
        raise LayoutError(f"{name}: shape {shape}; must be one-dimensional")
    if shape[0] > most:
        raise LayoutError(f"{name}: {shape[0]:,} ids; at most {most:,}")
    if dtype.itemsize // 4 > MAX_ID_LENGTH:
        raise LayoutError(f"{name}: ids of up to {dtype.itemsize // 4} characters; at most {MAX_ID_LENGTH}")
    return shape[0]


def _ids(arrays: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    ids = np.asarray(arrays[name])
    if (np.char.str_len(ids) == 0).any():
        raise LayoutError(f"{name}: an empty id at position {int(np.flatnonzero(np.char.str_len(ids) == 0)[0])}")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        twice = unique[counts > 1]
        raise LayoutError(f"{name}: {len(twice)} id(s) appear more than once, e.g. {str(twice[0])!r}")
    return ids


def _finite(arrays: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """As float32 (values beyond float32's range become infinite, and are refused as such)."""
    with np.errstate(over="ignore"):
        values = np.asarray(arrays[name]).astype(np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise LayoutError(f"{name}: {int(bad.sum())} value(s) NaN or infinite (as float32), first at {where}")
    return values


def _kind(name: str) -> str:
    return "strings" if name.endswith("_ids") else "numbers"
