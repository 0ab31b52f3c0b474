"""The `relevo` command's entry point: it loads the commands only when it runs."""


def main() -> None:
    # uvicorn starts each `relevo serve --workers` process with multiprocessing's spawn, which
    # imports the running script's module again before the new process can answer uvicorn's
    # first health check. Kept to this function, the commands (and the whole app they import)
    # load only in the process that runs them, not in every worker ahead of that answer.
    from relevo.cli import app

    app()
