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
