"""`import relevo.client` stays light: no web framework, database layer or numerical library,
so a shop's backend can use it without Relevo's server dependencies being loaded."""

import subprocess
import sys

HEAVY = ("fastapi", "starlette", "sqlalchemy", "numpy", "scipy", "relevo.server", "relevo.engine")


def test_importing_the_client_loads_no_server_module() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, relevo.client; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert [name for name in loaded if name.split(".")[0] in HEAVY or name.startswith(HEAVY)] == []
    assert "httpx" in loaded and "relevo.client.sync" in loaded
