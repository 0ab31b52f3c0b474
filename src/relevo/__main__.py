"""Allows `python -m relevo`, the same as the `relevo` command."""

from relevo.cli import app

app()
