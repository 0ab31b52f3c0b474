"""Who an anonymous caller is: the address its connection comes from, unless that is a trusted
proxy; then the right-most address of X-Forwarded-For that is not one. A header a client
writes itself changes nothing."""

import ipaddress

import pytest

from relevo.ratelimits.addresses import ClientAddresses
from tests.errors import assert_error_mentioning
from tests.ratelimits.conftest import DAY, LimitedClient, away_from_a_window_edge

READ = "/api/v1/popular"
PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]


def scope(peer: str, *forwarded: str) -> dict:
    return {"client": (peer, 443), "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


@pytest.mark.parametrize(
    ("request_scope", "client"),
    [
        (scope("198.51.100.9"), "198.51.100.9"),
        (scope("198.51.100.9", "1.1.1.1"), "198.51.100.9"),  # not from a proxy: the header is the client's own
        (scope("10.0.0.2"), "10.0.0.2"),  # a proxy sending nothing is the client
        (scope("10.0.0.2", "1.1.1.1"), "1.1.1.1"),
        (scope("10.0.0.2", "6.6.6.6, 1.1.1.1"), "1.1.1.1"),  # the left part is whatever the client wrote
        (scope("10.0.0.2", "6.6.6.6, 1.1.1.1, 10.0.0.3"), "1.1.1.1"),  # through two proxies
        (scope("10.0.0.2", "6.6.6.6", "1.1.1.1, 10.9.9.9"), "1.1.1.1"),  # the header given twice
        (scope("10.0.0.2", "10.0.0.5, 10.0.0.3"), "10.0.0.5"),  # only proxies: the first of them
        (scope("10.0.0.2", "not-an-address"), "not-an-address"),  # untrusted, kept as written
        (scope("::ffff:10.0.0.2", "1.1.1.1"), "1.1.1.1"),  # an IPv4 proxy seen over IPv6
        (scope("2001:db8::7", "2001:db8::8, 2a00:1450::1"), "2a00:1450::1"),
        (scope("10.0.0.2", " , "), "10.0.0.2"),
        ({"client": None, "headers": []}, "unknown"),
    ],
)
def test_the_client_address(request_scope: dict, client: str) -> None:
    assert ClientAddresses(PROXIES).of(request_scope) == client


def test_with_no_trusted_proxy_not_even_loopback_is_believed() -> None:
    assert ClientAddresses([]).of(scope("127.0.0.1", "1.1.1.1")) == "127.0.0.1"
    assert ClientAddresses([]).of(scope("::1", "1.1.1.1")) == "::1"


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(limited_client: LimitedClient) -> None:
    away_from_a_window_edge(DAY)
    with limited_client(peer="198.51.100.9", trusted_proxies="10.0.0.0/8") as client:
        answers = [client.get(READ, headers={"X-Forwarded-For": f"1.1.1.{n}"}) for n in range(3)]
        refused = client.get(READ, headers={"X-Forwarded-For": "1.1.1.99"})

    assert [answer.status_code for answer in answers] == [200] * 3
    assert_error_mentioning(refused, 429, "address 198.51.100.9")


def test_behind_a_trusted_proxy_each_client_has_its_own_count(limited_client: LimitedClient) -> None:
    away_from_a_window_edge(DAY)
    with limited_client(peer="10.0.0.2", trusted_proxies="10.0.0.0/8, 192.168.0.1") as client:
        first = [client.get(READ, headers={"X-Forwarded-For": f"6.6.6.{n}, 1.1.1.1"}) for n in range(3)]
        refused = client.get(READ, headers={"X-Forwarded-For": "1.1.1.1"})
        second = client.get(READ, headers={"X-Forwarded-For": "2.2.2.2"})

    assert [answer.status_code for answer in first] == [200] * 3
    assert_error_mentioning(refused, 429, "address 1.1.1.1")
    assert second.status_code == 200
    assert second.headers["ratelimit"].startswith('"api";r=2;')
