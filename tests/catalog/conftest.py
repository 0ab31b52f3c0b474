"""Fixtures of the catalog tests: a store owner and their credentials."""

from collections.abc import Callable

import pytest

from relevo.accounts.models import Account, Role


@pytest.fixture
def owner(make_account: Callable[..., Account]) -> Account:
    return make_account(Role.owner)


@pytest.fixture
def owner_headers(owner: Account, auth: Callable) -> dict[str, str]:
    return auth(owner)
