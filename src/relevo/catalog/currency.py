"""Price conversion between currencies, from the configured rate table."""

from decimal import ROUND_HALF_UP, Decimal

from relevo.core.errors import InvalidArgument

_CENT = Decimal("0.01")


def convert(amount: Decimal, *, source: str, target: str, rates: dict[str, Decimal]) -> Decimal:
    """`amount` in `source` currency expressed in `target`, rounded to cents.

    Rates are units of each currency per one unit of the base currency.
    """
    for field, code in (("currency", target), ("product currency", source)):
        if code not in rates:
            known = ", ".join(sorted(rates))
            raise InvalidArgument(f"{field}: no exchange rate for {code!r}; known currencies: {known}")
    return (amount * rates[target] / rates[source]).quantize(_CENT, rounding=ROUND_HALF_UP)
