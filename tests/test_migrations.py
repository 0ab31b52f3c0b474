"""The Alembic migrations: a fresh database reaches head, matches the ORM models exactly, and
can go down to nothing and up again. Each test gets an empty database of its own."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from relevo import migrations
from relevo.core.db import Database
from relevo.models import Base

TABLES = {
    "accounts",
    "api_keys",
    "stores",
    "products",
    "users",
    "events",
    "datasets",
    "jobs",
    "job_results",
    "model_versions",
    "experiments",
    "exposures",
    "request_statistics",
    "rate_limit_quotas",
    "registered_models",
    "model_files",
    "model_aliases",
    "registry_audit",
    "privacy_audit",
}


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine on an empty database, configured as Relevo configures its own."""
    database = Database(empty_database_url)
    yield database.engine
    database.dispose()


def schema_differences(engine: Engine) -> list:
    """What Alembic's autogenerate would change to make the database match the ORM models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def upgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current_revision(connection)


def tables_of(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_there_is_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
    assert migrations.head_revision() is not None


def test_an_empty_database_has_no_revision_and_no_tables(engine: Engine) -> None:
    assert revision_of(engine) is None
    assert tables_of(engine) == set()


def test_upgrade_reaches_head_and_matches_the_models(engine: Engine) -> None:
    migrations.upgrade(engine)
    assert revision_of(engine) == migrations.head_revision()
    assert tables_of(engine) == TABLES == set(Base.metadata.tables)
    assert schema_differences(engine) == []


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    migrations.upgrade(engine)
    migrations.upgrade(engine)
    assert revision_of(engine) == migrations.head_revision()
    assert schema_differences(engine) == []


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    migrations.upgrade(engine)
    downgrade(engine, "base")
    assert revision_of(engine) is None
    assert tables_of(engine) == set()
    migrations.upgrade(engine)
    assert revision_of(engine) == migrations.head_revision()
    assert schema_differences(engine) == []


def test_the_migrated_event_id_index_stores_each_event_id_once(engine: Engine) -> None:
    """Idempotent ingestion relies on the partial unique index the migration creates."""
    migrations.upgrade(engine)
    now = "CURRENT_TIMESTAMP"
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO users (external_id, attributes, created_at) VALUES ('u', '{{}}', {now})"))
        connection.execute(
            text(
                "INSERT INTO products (external_id, views_count, attributes, is_active, created_at, updated_at) "
                f"VALUES ('p', 0, '{{}}', true, {now}, {now})"
            )
        )
        insert = text(
            "INSERT INTO events (event_id, user_id, product_id, event_type, occurred_at) "
            f"SELECT :event_id, users.id, products.id, 'view', {now} FROM users, products WHERE true "
            "ON CONFLICT DO NOTHING"
        )
        stored = [connection.execute(insert, {"event_id": event_id}).rowcount for event_id in ("e1", "e1", None, None)]
    assert stored == [1, 0, 1, 1]


def test_upgrade_works_inside_a_caller_transaction(engine: Engine) -> None:
    with engine.begin() as connection:
        migrations.upgrade(connection)
    assert revision_of(engine) == migrations.head_revision()


def test_stored_batch_results_are_rewritten_as_parallel_lists_and_back(engine: Engine) -> None:
    upgrade(engine, "0004")
    stored = [{"product_id": "p1", "score": 0.9}, {"product_id": "p2", "score": 0.5}]
    with engine.begin() as connection:
        for user, items in (("u1", stored), ("u2", [])):
            connection.execute(
                text(
                    "INSERT INTO job_results (job_id, user_id, items, created_at) "
                    "VALUES ('j', :user, :items, CURRENT_TIMESTAMP)"
                ),
                {"user": user, "items": json.dumps(items)},
            )
    read = lambda: {  # noqa: E731
        user: json.loads(items) if isinstance(items, str) else items
        for user, items in engine.connect().execute(text("SELECT user_id, items FROM job_results"))
    }

    migrations.upgrade(engine)
    assert read() == {"u1": {"product_id": ["p1", "p2"], "score": [0.9, 0.5]}, "u2": {"product_id": [], "score": []}}
    downgrade(engine, "0004")
    assert read() == {"u1": stored, "u2": []}


def test_categories_stored_before_are_rewritten_canonically(engine: Engine) -> None:
    """Category filters in SQL compare stored categories as they are, written canonically."""
    upgrade(engine, "0007")
    stored = {"p1": "Books>Fiction", "p2": "  Books  >  Science   Fiction ", "p3": "Books > Fiction", "p4": None}
    with engine.begin() as connection:
        for external_id, category in stored.items():
            connection.execute(
                text(
                    "INSERT INTO products (external_id, category, views_count, attributes, is_active, created_at, "
                    "updated_at) VALUES (:id, :category, 0, '{}', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": external_id, "category": category},
            )

    migrations.upgrade(engine)

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT external_id, category, revision FROM products ORDER BY external_id"))
        assert [tuple(row) for row in rows] == [
            ("p1", "Books > Fiction", 1),
            ("p2", "Books > Science Fiction", 1),
            ("p3", "Books > Fiction", 0),
            ("p4", None, 0),
        ]


def test_experiments_exposures_are_kept_with_their_model_and_others_go_back_down(engine: Engine) -> None:
    upgrade(engine, "0010")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO model_versions (id, name, version, algorithm, status, config, metrics, training, "
                "watermark, created_at) "
                "VALUES (7, 'default', 3, 'als', 'deployed', '{}', '{}', '{}', 0, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO exposures (recommendation_id, experiment_id, variant, user_id, items, model_version_id, "
                "route, shown_at) "
                "VALUES ('r1', 'exp-1', 'control', 'u1', '[\"p1\"]', 7, 'canonical', CURRENT_TIMESTAMP)"
            )
        )

    migrations.upgrade(engine)
    with engine.begin() as connection:
        found = connection.execute(text("SELECT model, model_version, source, fallback FROM exposures")).one()
        assert tuple(found) == ("default", 3, "model", False)
        connection.execute(
            text(
                "INSERT INTO exposures (recommendation_id, user_id, items, route, source, fallback, shown_at) "
                "VALUES ('r2', 'u2', '[]', 'canonical', 'cache', false, CURRENT_TIMESTAMP)"
            )
        )
    downgrade(engine, "0010")

    with engine.connect() as connection:
        assert connection.execute(text("SELECT recommendation_id FROM exposures")).scalars().all() == ["r1"]
