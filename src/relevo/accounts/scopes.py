"""What a caller may do: the scopes, the scopes each role holds, and how a key narrows them.

A route needs one scope. A login token carries every scope of its account's role; an API key
carries the scopes it was made with, never more than its account's role holds (checked again
at every use, so a demoted account's keys shrink with it). Which objects a scope reaches
(own stores and jobs, or all of them) is the account's matter, not the key's.
"""

from enum import StrEnum

from relevo.accounts.models import Role


class Scope(StrEnum):
    recommendations_read = "recommendations:read"  # recommendation reads, when they are not public
    events_write = "events:write"  # events, purchases, interactions; interactions and users CSVs
    read = "read"  # the account's own objects: catalog, jobs, datasets; models, stats, status
    catalog_write = "catalog:write"  # stores and products (the account's own); items CSVs
    jobs_manage = "jobs:manage"  # batch jobs: start, cancel, delete (the account's own)
    models_manage = "models:manage"  # the shared models: train, deploy, roll back, archive
    keys_manage = "keys:manage"  # the account's own API keys
    admin = "admin"  # accounts, everyone's keys, jobs and datasets; the behaviour log


ALL_SCOPES = frozenset(Scope)

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.admin: ALL_SCOPES,
    Role.owner: frozenset(
        {
            Scope.read,
            Scope.recommendations_read,
            Scope.events_write,
            Scope.catalog_write,
            Scope.jobs_manage,
            Scope.keys_manage,
        }
    ),
    Role.service: frozenset({Scope.recommendations_read, Scope.events_write, Scope.keys_manage}),
    Role.viewer: frozenset({Scope.read, Scope.recommendations_read, Scope.keys_manage}),
}


def parse_scopes(text: str) -> frozenset[Scope]:
    """Scopes as stored (space-separated, as OAuth writes them); unknown names are dropped."""
    known = {scope.value for scope in Scope}
    return frozenset(Scope(name) for name in text.split() if name in known)


def format_scopes(scopes: frozenset[Scope] | set[Scope]) -> str:
    return " ".join(sorted(scope.value for scope in scopes))


def key_scopes(*, role: Role, stored: str) -> frozenset[Scope]:
    """What a key may do now: its own scopes, within what its account's role holds."""
    return parse_scopes(stored) & ROLE_SCOPES[role]
