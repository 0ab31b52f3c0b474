"""Who may write which products: the one rule that every way into the catalog applies (the
store API, the AI service's upserts, items CSVs).

Admins and the AI service's shared secret write every store. An owner writes products in
their own stores only: a product in another owner's store is refused, and so is a move into
one. A product in no store (known so far only from events) is taken into the store the write
names, or the owner's first store; with none, the owner must create a store first.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.accounts.scopes import Scope
from relevo.catalog.models import Store
from relevo.core.errors import InvalidArgument, PermissionDenied

# The store API's messages, used by every route for the same refusals.
NO_PERMISSION = "You do not have permission to perform this action."
ONLY_OWNERS_ADD = "Only store owners or Admins can add product to store."
NO_STORE = "No store available for this user. Admins must provide a store explicitly."


class NotYourProduct(PermissionDenied):
    """A write the caller may not make; `reason` names the field, for a CSV row's report."""

    def __init__(self, details: str, *, reason: str) -> None:
        super().__init__(details)
        self.reason = reason


class NoStoreToWrite(InvalidArgument):
    error = "Validation error"

    def __init__(self) -> None:
        super().__init__(NO_STORE)
        self.reason = "store_id: you own no store; create one first"


@dataclass(frozen=True)
class CatalogAccess:
    """The stores a writer may write: all of them, or `own` (oldest first)."""

    every_store: bool
    own: tuple[int, ...] = ()

    @classmethod
    def of(cls, *, session: Session, caller: Caller | None, refusal: str = ONLY_OWNERS_ADD) -> "CatalogAccess":
        """`caller` None is the AI service's shared secret: a trusted integration. A caller
        without the scope catalog:write is refused with `refusal`."""
        if caller is None:
            return cls(every_store=True)
        caller.require(Scope.catalog_write, refusal)
        if caller.sees_everything:
            return cls(every_store=True)
        owned = session.scalars(select(Store.id).where(Store.owner_id == caller.id).order_by(Store.id))
        return cls(every_store=False, own=tuple(owned))

    def may_write(self, store_id: int) -> bool:
        return self.every_store or store_id in self.own

    def check_change(self, *, store_id: int | None, product: str) -> None:
        """A change to an existing product (or its deletion) in `store_id`."""
        if store_id is None and not self.every_store:
            raise NotYourProduct(NO_PERMISSION, reason=f"product_id: {product} is in no store; name one you own")
        if store_id is not None and not self.may_write(store_id):
            raise NotYourProduct(NO_PERMISSION, reason=f"product_id: {product} is in store {store_id}, not yours")

    def store_for(self, *, exists: bool, current: int | None, requested: int | None, product: str) -> int | None:
        """The store a written product ends in: `requested` if given, else where it is; a product
        in no store goes to the owner's first store (admins leave it where it is)."""
        if exists and current is not None:
            self.check_change(store_id=current, product=product)
        if requested is not None:
            if not self.may_write(requested):
                raise NotYourProduct(ONLY_OWNERS_ADD, reason=f"store_id: store {requested} is not yours")
            return requested
        if current is not None or self.every_store:
            return current
        if not self.own:
            raise NoStoreToWrite()
        return self.own[0]
