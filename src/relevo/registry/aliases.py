"""Aliases: named pointers to one version of a model ("champion", "staging"), moved while the
versions stay fixed; and finding a version by number or alias."""

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.core.db import utcnow
from relevo.core.errors import InvalidArgument, NotFound
from relevo.registry import service
from relevo.registry.audit import Action, record
from relevo.registry.models import ModelAlias, ModelVersion, VersionStatus

ALIAS = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"  # never all digits: a version number is not an alias
_ALIAS = re.compile(ALIAS)


def listed(*, session: Session, name: str) -> list[tuple[ModelAlias, ModelVersion]]:
    query = (
        select(ModelAlias, ModelVersion)
        .join(ModelVersion, ModelVersion.id == ModelAlias.version_id)
        .where(ModelAlias.name == name)
        .order_by(ModelAlias.alias)
    )
    return [(alias, version) for alias, version in session.execute(query).all()]


def set_alias(*, session: Session, name: str, alias: str, version: ModelVersion, actor: int | None) -> ModelAlias:
    """Points `alias` at `version` (made, or moved from the version it named)."""
    if version.status in (VersionStatus.failed, VersionStatus.training):
        raise InvalidArgument(f"version: version {version.version} of {name!r} is {version.status}")
    service.lock_versions(session=session, name=name)
    found = session.scalar(select(ModelAlias).where(ModelAlias.name == name, ModelAlias.alias == alias))
    previous = None
    if found is None:
        found = ModelAlias(name=name, alias=alias, version_id=version.id, updated_by=actor)
        session.add(found)
    else:
        previous = session.get(ModelVersion, found.version_id)
        found.version_id, found.updated_by, found.updated_at = version.id, actor, utcnow()
    session.flush()
    details = {"alias": alias, "previous": None if previous is None else previous.version}
    record(
        session=session, account_id=actor, action=Action.alias_set, name=name, version=version.version, details=details
    )
    return found


def delete_alias(*, session: Session, name: str, alias: str, actor: int | None) -> None:
    found = session.scalar(select(ModelAlias).where(ModelAlias.name == name, ModelAlias.alias == alias))
    if found is None:
        raise NotFound(f"model {name!r} has no alias {alias!r}")
    version = session.get(ModelVersion, found.version_id)
    session.delete(found)
    session.flush()
    record(
        session=session,
        account_id=actor,
        action=Action.alias_delete,
        name=name,
        version=None if version is None else version.version,
        details={"alias": alias},
    )


def resolve(*, session: Session, name: str, reference: str | int | None, field: str = "version") -> ModelVersion:
    """The version a caller means: a number, an alias, or nothing (the deployed version);
    NotFound naming what does not exist."""
    if service.get_model(session=session, name=name) is None and not service.deployed(session=session, name=name):
        raise NotFound(f"model_name: no model named {name!r}")
    if reference is None or (isinstance(reference, str) and not reference.strip()):
        return service.deployed_or_raise(session=session, name=name)
    text = str(reference).strip()
    if text.isascii() and text.isdigit():
        if int(text) > 2**31 - 1:
            raise InvalidArgument(f"{field}: {text} is not a version number")
        return service.get_or_raise(session=session, name=name, version=int(text))
    if not _ALIAS.match(text):
        raise InvalidArgument(f"{field}: {text!r} is neither a version number nor an alias")
    found = session.scalar(
        select(ModelVersion)
        .join(ModelAlias, ModelAlias.version_id == ModelVersion.id)
        .where(ModelAlias.name == name, ModelAlias.alias == text)
    )
    if found is None:
        raise NotFound(f"{field}: model {name!r} has no version or alias {text!r}")
    return found
