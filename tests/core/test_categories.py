"""The one category rule: one table of cases, checked against every implementation (the
predicate, the mask serving uses, and the SQL clause on SQLite and PostgreSQL)."""

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.catalog.models import Product
from relevo.core import categories
from relevo.recommend.catalog_view import CatalogSnapshot, Filters

# (the filter, a product's category as sent, whether the filter matches it)
CASES = [
    # The category itself and everything below it, by whole segments from the top.
    ("Books", "Books", True),
    ("Books", "Books > Fiction", True),
    ("Books", "Books > Fiction > Novels", True),
    ("Books > Fiction", "Books > Fiction > Novels", True),
    ("Books", "Bookshelves", False),
    ("Books", "Books and Games", False),
    ("Books > Fiction", "Books > Fictional", False),
    ("Books", "Used > Books", False),
    ("Books > Fiction", "Books", False),
    ("Books > Fiction", "Used > Books > Fiction", False),
    ("Books", None, False),
    ("Books", "", False),
    # Letters A to Z in either case.
    ("books", "BOOKS > Fiction", True),
    ("BOOKS > FICTION", "Books > Fiction", True),
    # Other letters as written: the databases disagree on their case.
    ("Électronique", "Électronique > Télévisions", True),
    ("ÉLECTRONIQUE", "Électronique", True),
    ("électronique", "Électronique", False),
    # Spaces and separators, on either side.
    ("  Books  ", "Books", True),
    ("Books>Fiction", "Books > Fiction", True),
    ("Books >   Fiction ", "Books>Fiction>Novels", True),
    ("Books > Fiction >", " Books  >  Fiction ", True),
    ("Science  Fiction", "Science Fiction > Space", True),
    ("Books\t>\tFiction", "Books > Fiction", True),
    # Characters LIKE would read as patterns, or as its escape, are plain text.
    ("50%", "50% > Shoes", True),
    ("50%", "50 percent > Shoes", False),
    ("50%", "50 percent", False),
    ("Kids_Toys", "Kids_Toys > Cars", True),
    ("Kids_Toys", "KidsXToys > Cars", False),
    ("A/B", "A/B > C", True),
    ("A/%", "A/B > C", False),
    # A filter naming no category filters nothing.
    ("", "Books", True),
    (" > ", "Books", True),
    ("", None, True),
]

WANTED = sorted({wanted for wanted, _, _ in CASES})


def cases_for(wanted: str) -> list[tuple[str | None, bool]]:
    return [(category, matches) for filter_, category, matches in CASES if filter_ == wanted]


@pytest.mark.parametrize(("wanted", "category", "expected"), CASES)
def test_the_predicate(wanted: str, category: str | None, expected: bool) -> None:
    assert categories.matches(wanted, category) is expected


@pytest.mark.parametrize("wanted", WANTED)
def test_the_mask(wanted: str) -> None:
    listed, expected = zip(*cases_for(wanted), strict=True)
    # Every category twice: the mask compares each distinct one once and must place it everywhere.
    mask = categories.mask(wanted, [*listed, *listed])

    assert mask.dtype == bool
    assert mask.tolist() == [*expected, *expected]


@pytest.mark.parametrize("wanted", WANTED)
def test_the_serving_filter(wanted: str) -> None:
    listed = cases_for(wanted)
    rows = [
        (f"p{index}", "Thing", category, Decimal("1.00"), "USD", 1, None, True, 0)
        for index, (category, _) in enumerate(listed)
    ]

    allowed = CatalogSnapshot(rows).allowed(Filters(category=wanted))

    assert allowed.tolist() == [matches for _, matches in listed]


@pytest.mark.parametrize("wanted", WANTED)
def test_the_sql_clause(session: Session, wanted: str) -> None:
    listed = cases_for(wanted)
    for index, (category, _) in enumerate(listed):
        # Stored as every way into the catalog stores them.
        stored = None if category is None else categories.normalise(category)
        session.add(Product(external_id=f"p{index}", category=stored, attributes={}))
    session.flush()

    query = select(Product.external_id).where(categories.clause(wanted, Product.category))
    found = set(session.scalars(query))

    assert found == {f"p{index}" for index, (_, matches) in enumerate(listed) if matches}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Books > Fiction", "Books > Fiction"),
        ("Books>Fiction", "Books > Fiction"),
        ("  Books  >  Fiction  ", "Books > Fiction"),
        ("Science   Fiction > Space", "Science Fiction > Space"),
        ("Books > > Fiction >", "Books > Fiction"),
        ("BOOKS > fiction", "BOOKS > fiction"),  # case is kept; only matching ignores it
        (">", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_a_category_is_written_canonically(sent: str | None, stored: str) -> None:
    assert categories.normalise(sent) == stored
    assert categories.normalise(stored) == stored
