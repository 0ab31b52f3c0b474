"""The engine is a pure library: importing all of it loads no web framework, no database
library and none of Relevo's service code."""

import pkgutil
import subprocess
import sys

import relevo.engine

FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "psycopg", "pydantic_settings", "redis", "relevo.core", "relevo.api")


def test_importing_the_engine_loads_no_web_or_database_code() -> None:
    modules = [name for _, name, _ in pkgutil.walk_packages(relevo.engine.__path__, "relevo.engine.")]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith({FORBIDDEN!r})])"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", loaded
    assert len(modules) >= 8
