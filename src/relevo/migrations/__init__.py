"""Schema migrations (Alembic): upgrade to head, and tell whether a database is current."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

_HERE = Path(__file__).parent


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine | Connection, revision: str = "head") -> None:
    if isinstance(engine, Connection):
        command.upgrade(_config(engine), revision)
        return
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def create_revision(engine: Engine, message: str) -> None:
    """Writes a new migration from the difference between the models and a database at head,
    numbered after the last one (0001, 0002, ...)."""
    number = len(list((_HERE / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))) + 1
    with engine.begin() as connection:
        script = command.revision(_config(connection), message=message, autogenerate=True, rev_id=f"{number:04d}")
    # Alembic renders JSONB's text type unqualified, and marks its output for editing.
    path = Path(script.path)
    lines = path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.lstrip().startswith("# ###")))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
