"""Price conversion between currencies, from the configured rate table."""

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from relevo.core.errors import InvalidArgument

_CENT = Decimal("0.01")


def check_known(code: str, *, rates: Mapping[str, Decimal], field: str = "currency") -> None:
    """Refuses a currency code the rate table cannot convert."""
    if code not in rates:
        known = ", ".join(sorted(rates))
        raise InvalidArgument(f"{field}: no exchange rate for {code!r}; known currencies: {known}")


def convert(amount: Decimal, *, source: str, target: str, rates: Mapping[str, Decimal]) -> Decimal:
    """`amount` in `source` currency expressed in `target`, rounded to cents.

    Rates are units of each currency per one unit of the base currency.
    """
    check_known(target, rates=rates)
    check_known(source, rates=rates, field="product currency")
    return (amount * rates[target] / rates[source]).quantize(_CENT, rounding=ROUND_HALF_UP)


def shown_price(
    amount: Decimal | None, *, source: str, wanted: str | None, rates: Mapping[str, Decimal]
) -> tuple[Decimal | None, str | None]:
    """A price as a product answer shows it beside its own: the amount and the currency it is
    in. Without a `wanted` currency, the price itself in `source`; in `wanted` when the rate
    table converts `source`; (None, None) when there is no price, or no rate for `source`
    any more (a rate since removed from the settings: no conversion, rather than no answer)."""
    if amount is None:
        return None, None
    if wanted is None:
        return amount, source
    if source not in rates:
        return None, None
    target = wanted.upper()
    return convert(amount, source=source, target=target, rates=rates), target
