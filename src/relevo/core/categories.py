"""The one category rule: how a category path is written, and which categories a category
filter matches, as a Python predicate, a SQL clause and a mask over many categories.

A category is a path from the top of the tree, its segments separated by ">": written
canonically as "Books > Fiction > Novels" (`normalise`). Every way into the catalog stores
categories so, which lets SQL compare stored categories as they are.

A filter matches the category it names and every category below it, by whole segments from
the top: "Books" matches "Books" and "Books > Fiction", never "Bookshelves" nor
"Used > Books". Both sides are compared canonically ("books>fiction " is "Books > Fiction")
and the letters A to Z in either case; other letters ("É", "ß") must match as written,
because the databases disagree on their case (SQLite's lower() knows only A to Z,
PostgreSQL's follows the server's locale). A filter that names no category ("", " > ")
matches every product, those without a category too.
"""

from collections.abc import Sequence
from string import ascii_lowercase, ascii_uppercase
from typing import Any

import numpy as np
from sqlalchemy import String, literal, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

SEPARATOR = " > "
_ASCII_LOWER = str.maketrans(ascii_uppercase, ascii_lowercase)


def normalise(category: str | None) -> str:
    """The canonical path: segments split at ">", each with its surrounding spaces dropped and
    its inner runs of spaces made one, empty segments left out, joined by " > "."""
    if not category:
        return ""
    segments = (" ".join(segment.split()) for segment in category.split(">"))
    return SEPARATOR.join(segment for segment in segments if segment)


def _key(category: str | None) -> str:
    """What the rule compares: the canonical path, A to Z in lower case."""
    return normalise(category).translate(_ASCII_LOWER)


def _at_or_below(wanted_key: str, key: str) -> bool:
    return key == wanted_key or key.startswith(wanted_key + SEPARATOR)


def matches(wanted: str | None, category: str | None) -> bool:
    """Whether a filter for `wanted` matches a product in `category`."""
    wanted_key = _key(wanted)
    return not wanted_key or _at_or_below(wanted_key, _key(category))


def mask(wanted: str | None, categories: Sequence[str | None]) -> np.ndarray:
    """`matches` for each of `categories`, as a boolean array. A catalog has far fewer distinct
    categories than products: each distinct one is compared once."""
    wanted_key = _key(wanted)
    if not wanted_key:
        return np.ones(len(categories), dtype=bool)
    codes: dict[str | None, int] = {}
    code_of = np.fromiter(
        (codes.setdefault(category, len(codes)) for category in categories), dtype=np.intp, count=len(categories)
    )
    hit = np.fromiter((_at_or_below(wanted_key, _key(category)) for category in codes), dtype=bool, count=len(codes))
    return hit[code_of]


def clause(wanted: str | None, column: ColumnElement[str]) -> ColumnElement[bool]:
    """`matches` as a SQL condition on a column of canonical categories, the same on SQLite and
    PostgreSQL: both sides in lower case A to Z (PostgreSQL's LIKE heeds case), and the
    filter's own "%", "_" and "/" escaped in the LIKE pattern."""
    wanted_key = _key(wanted)
    if not wanted_key:
        return true()
    key = _AsciiLower(column)
    return or_(key == wanted_key, key.startswith(wanted_key + SEPARATOR, autoescape=True))


class _AsciiLower(FunctionElement):
    """A text with the letters A to Z in lower case, and no other letter changed."""

    type = String()
    name = "ascii_lower"
    inherit_cache = True


@compiles(_AsciiLower)
def _ascii_lower(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's lower() changes only A to Z.
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_AsciiLower, "postgresql")
def _ascii_lower_postgresql(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's lower() changes every letter its locale knows; translate() changes only these.
    upper, lower = (compiler.process(literal(text), literal_binds=True) for text in (ascii_uppercase, ascii_lowercase))
    return f"translate({compiler.process(element.clauses, **kw)}, {upper}, {lower})"
