"""The statistics of experiments are pure: importing them loads no web framework, no database
library and none of Relevo's service code, so they can run anywhere, a benchmark included."""

import subprocess
import sys

PURE = ("relevo.experiments.statistics", "relevo.experiments.sequential", "relevo.experiments.verdict")
FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "psycopg", "pydantic_settings", "redis", "relevo.core", "relevo.api")


def test_importing_the_statistics_loads_no_web_or_database_code() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {PURE!r}: importlib.import_module(name)\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith({FORBIDDEN!r})])"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", loaded
