"""Prices shown in another currency: the `convert` rule itself, and `?currency=` on the product routes."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from relevo.catalog.currency import convert
from relevo.core.config import Settings
from relevo.core.errors import InvalidArgument
from tests.catalog.shop import (
    MOST_POPULAR,
    PRODUCTS,
    assert_invalid_field,
    create_product,
    create_store,
    product_body,
    product_url,
    view,
)

RATES = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "JPY": Decimal("150")}


# The rule


def test_converts_with_the_target_rate() -> None:
    assert convert(Decimal("10.00"), source="USD", target="EUR", rates=RATES) == Decimal("9.20")


def test_converts_between_two_non_base_currencies() -> None:
    # 9.20 EUR is 10 USD, which is 1500 JPY.
    assert convert(Decimal("9.20"), source="EUR", target="JPY", rates=RATES) == Decimal("1500.00")


def test_same_currency_keeps_the_amount() -> None:
    assert convert(Decimal("12.34"), source="EUR", target="EUR", rates=RATES) == Decimal("12.34")


def test_result_is_always_in_cents() -> None:
    result = convert(Decimal("10"), source="USD", target="USD", rates=RATES)

    assert result == Decimal("10.00")
    assert str(result) == "10.00"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.125", "0.13"),  # half a cent rounds up, not to even
        ("0.135", "0.14"),
        ("0.124", "0.12"),
        ("2.675", "2.68"),  # a float would make this 2.67
    ],
)
def test_rounds_half_up_to_cents(amount: str, expected: str) -> None:
    rates = {"USD": Decimal("1"), "XTS": Decimal("1")}

    assert convert(Decimal(amount), source="USD", target="XTS", rates=rates) == Decimal(expected)


def test_rounds_the_converted_amount_not_the_inputs() -> None:
    # 10 USD in EUR is 10.869565...; rounding only at the end gives 10.87.
    assert convert(Decimal("10.00"), source="EUR", target="USD", rates=RATES) == Decimal("10.87")


def test_unknown_target_names_currency() -> None:
    with pytest.raises(InvalidArgument) as raised:
        convert(Decimal("1"), source="USD", target="XYZ", rates=RATES)

    assert raised.value.details == "currency: no exchange rate for 'XYZ'; known currencies: EUR, JPY, USD"


def test_unknown_source_names_the_product_currency() -> None:
    with pytest.raises(InvalidArgument) as raised:
        convert(Decimal("1"), source="XYZ", target="USD", rates=RATES)

    assert raised.value.details.startswith("product currency: no exchange rate for 'XYZ'")


def test_codes_are_case_sensitive_at_this_level() -> None:
    # The routes upper-case what callers send; the rate table holds upper-case codes.
    with pytest.raises(InvalidArgument):
        convert(Decimal("1"), source="USD", target="eur", rates=RATES)


# The routes


@pytest.fixture
def store(client: TestClient, owner_headers: dict) -> dict:
    return create_store(client, owner_headers)


@pytest.fixture
def product(client: TestClient, owner_headers: dict, store: dict) -> dict:
    return create_product(client, owner_headers, store["id"], price="10.00")


def test_default_rate_table_has_euro_at_0_92(settings: Settings) -> None:
    assert settings.base_currency == "USD"
    assert settings.currency_rates["EUR"] == Decimal("0.92")


def test_without_currency_converted_price_is_the_price(client: TestClient, owner_headers: dict, product: dict) -> None:
    listed = client.get(PRODUCTS, headers=owner_headers).json()[0]
    viewed = view(client, owner_headers, product["id"])

    for body in (product, listed, viewed):
        assert body["converted_price"] == body["price"] == "10.00"
        assert body["converted_currency"] == body["currency"] == "USD"


@pytest.mark.parametrize("code", ["EUR", "eur", "Eur"])
def test_list_converts_to_the_requested_currency(
    client: TestClient, owner_headers: dict, product: dict, code: str
) -> None:
    response = client.get(PRODUCTS, params={"currency": code}, headers=owner_headers)

    assert response.status_code == 200
    body = response.json()[0]
    assert body["price"] == "10.00"
    assert body["currency"] == "USD"
    assert body["converted_price"] == "9.20"
    assert body["converted_currency"] == "EUR"  # the currency of converted_price, upper-cased as rates are


@pytest.mark.parametrize("route", ["list", "retrieve", "most popular"])
def test_every_product_route_says_which_currency_the_converted_price_is_in(
    client: TestClient, owner_headers: dict, product: dict, route: str
) -> None:
    url = {"list": PRODUCTS, "retrieve": product_url(product["id"]), "most popular": MOST_POPULAR}[route]

    response = client.get(url, params={"currency": "gbp"}, headers=owner_headers)

    assert response.status_code == 200, response.text
    body = response.json() if route == "retrieve" else response.json()[0]
    assert (body["price"], body["currency"]) == ("10.00", "USD")
    assert (body["converted_price"], body["converted_currency"]) == ("7.90", "GBP")


def test_retrieve_converts_and_still_counts_the_view(client: TestClient, owner_headers: dict, product: dict) -> None:
    body = view(client, owner_headers, product["id"], currency="eur")

    assert body["converted_price"] == "9.20"
    assert body["views_count"] == 1


def test_most_popular_converts(client: TestClient, owner_headers: dict, product: dict) -> None:
    response = client.get(MOST_POPULAR, params={"currency": "GBP"}, headers=owner_headers)

    assert response.json()[0]["converted_price"] == "7.90"


def test_conversion_rounds_to_cents(client: TestClient, owner_headers: dict, store: dict) -> None:
    product = create_product(client, owner_headers, store["id"], price="19.99")

    # 19.99 × 0.92 = 18.3908
    assert view(client, owner_headers, product["id"], currency="EUR")["converted_price"] == "18.39"


def test_product_priced_in_another_currency_converts_from_it(
    client: TestClient, owner_headers: dict, store: dict
) -> None:
    product = create_product(client, owner_headers, store["id"], price="9.20", currency="EUR")

    body = view(client, owner_headers, product["id"], currency="USD")

    assert body["price"] == "9.20"
    assert body["currency"] == "EUR"
    assert body["converted_price"] == "10.00"
    assert body["converted_currency"] == "USD"


def test_configured_rates_are_used(
    settings: Settings, owner_headers: dict, store: dict, client: TestClient, product: dict
) -> None:
    settings.currency_rates["EUR"] = Decimal("0.5")

    assert view(client, owner_headers, product["id"], currency="EUR")["converted_price"] == "5.00"


def test_unknown_currency_on_list_is_a_bad_request(client: TestClient, owner_headers: dict, product: dict) -> None:
    response = client.get(PRODUCTS, params={"currency": "XYZ"}, headers=owner_headers)

    assert_invalid_field(response, "currency")
    assert "XYZ" in response.json()["details"]


def test_unknown_currency_on_retrieve_is_a_bad_request_and_counts_no_view(
    client: TestClient, owner_headers: dict, product: dict
) -> None:
    response = client.get(product_url(product["id"]), params={"currency": "XYZ"}, headers=owner_headers)

    assert_invalid_field(response, "currency")
    assert view(client, owner_headers, product["id"])["views_count"] == 1


@pytest.mark.parametrize("code", ["EURO", "E1R", "", "€"])
def test_malformed_currency_is_a_bad_request(client: TestClient, owner_headers: dict, code: str) -> None:
    response = client.get(PRODUCTS, params={"currency": code}, headers=owner_headers)

    assert_invalid_field(response, "currency")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_products_cannot_be_priced_in_a_currency_without_a_rate(
    client: TestClient, owner_headers: dict, product: dict, store: dict, method: str
) -> None:
    if method == "POST":
        response = client.post(PRODUCTS, json=product_body(store["id"], currency="XYZ"), headers=owner_headers)
    else:
        response = client.patch(product_url(product["id"]), json={"currency": "XYZ"}, headers=owner_headers)

    assert_invalid_field(response, "currency")
    listed = client.get(PRODUCTS, params={"currency": "EUR"}, headers=owner_headers)
    assert listed.status_code == 200
    assert [item["currency"] for item in listed.json()] == ["USD"]


def test_a_product_whose_rate_was_removed_lists_without_conversion(
    client: TestClient, owner_headers: dict, store: dict, settings: Settings
) -> None:
    create_product(client, owner_headers, store["id"], price="10.00", currency="GBP")
    del settings.currency_rates["GBP"]
    response = client.get(PRODUCTS, params={"currency": "EUR"}, headers=owner_headers)
    assert response.status_code == 200, response.text
    assert [(item["converted_price"], item["converted_currency"]) for item in response.json()] == [(None, None)]
