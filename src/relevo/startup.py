"""Getting a database ready to serve: migrations (automatic on SQLite) and the configured admin."""

import logging

from relevo import migrations
from relevo.accounts import service as accounts_service
from relevo.core.config import Settings
from relevo.core.db import Database

logger = logging.getLogger("relevo.startup")


class SchemaMissing(Exception):
    """The database has no tables yet, and migrating is a deploy step here."""


def prepare(settings: Settings, database: Database, *, migrate: bool | None = None) -> None:
    """Migrates (by default only SQLite, which has no separate deploy step) and creates the
    admin named by RELEVO_ADMIN_USERNAME / RELEVO_ADMIN_PASSWORD if there is no admin yet.
    Elsewhere a schema behind the code's is only warned of (the code may be rolled out before
    the migration), but an empty database is refused: nothing could work on it."""
    if migrate if migrate is not None else database.backend == "sqlite":
        migrations.upgrade(database.engine)
    else:
        with database.engine.connect() as connection:
            current = migrations.current_revision(connection)
        if current is None:
            raise SchemaMissing(f"the {database.backend} database has no schema yet: run `relevo db upgrade` first")
        if current != migrations.head_revision():
            logger.warning(
                "the database schema is at %s, not %s: run `relevo db upgrade`", current, migrations.head_revision()
            )
    if settings.admin_username and settings.admin_password:
        with database.transaction() as session:
            created = accounts_service.ensure_admin(
                session=session, username=settings.admin_username, password=settings.admin_password
            )
        if created is not None:
            logger.info("created admin account %r", created.username)
