"""Who the client is when a request comes with no token: its address. The address the
connection comes from, unless that is a trusted proxy (RELEVO_TRUSTED_PROXIES, none by
default): then the right-most address of X-Forwarded-For that is not a trusted proxy, the
first one a trusted proxy saw. Addresses further left were written by the client itself and
prove nothing."""

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

from relevo.core.config import Network

_LONGEST = 64  # characters of an address kept (a proxy passing on garbage cannot grow the counters' keys)


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[Network]) -> None:
        self.trusted_proxies = tuple(trusted_proxies)

    def of(self, scope: Scope) -> str:
        """The client's address for the request `scope` (an ASGI scope)."""
        peer = scope["client"][0] if scope.get("client") else "unknown"
        if not self.trusted_proxies or not self.is_trusted(peer):
            return peer
        hops = [
            hop.strip()
            for name, value in scope["headers"]
            if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",")
            if hop.strip()
        ]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop[:_LONGEST]
        return hops[0][:_LONGEST] if hops else peer  # every hop a trusted proxy: the first of them

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False  # not an address at all (a port, a name): nothing vouches for it
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        return any(ip in network for network in self.trusted_proxies)
