"""The `relevo` command: serve, worker, scheduler, db upgrade, createadmin, demo, train, import."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from relevo.datasets.types import DatasetType
from relevo.demo_size import ShopSize

if TYPE_CHECKING:
    from relevo.core.config import Settings
    from relevo.core.db import Database
    from relevo.registry.models import ModelVersion

# Each command imports what it needs in its own body: `relevo --help`, `relevo <command> --help`
# and the commands that need neither the engine nor the web app then load neither (a test in
# tests/test_cli.py looks at which modules a run loads).
app = typer.Typer(help="Relevo: a self-hosted recommendation engine for online shops.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

DEMO_ADMIN = ("admin", "relevo-admin")


def _settings() -> "Settings":
    """The RELEVO_* settings, or what is wrong with them and exit 1."""
    from pydantic import ValidationError

    from relevo.core.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            typer.echo(f"Error: {f'RELEVO_{field.upper()}: ' if field else ''}{message}", err=True)
        raise typer.Exit(1) from None


def _open() -> tuple["Settings", "Database"]:
    from relevo.core.db import Database
    from relevo.core.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    return settings, Database(settings.resolved_database_url)


def _open_prepared() -> tuple["Settings", "Database"]:
    """_open, then the database made ready (see startup.prepare), or a plain message and exit 1."""
    from relevo import startup

    settings, database = _open()
    try:
        startup.prepare(settings, database)
    except startup.SchemaMissing as exc:
        database.dispose()
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    return settings, database


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request")] = False,
) -> None:
    """Serve the API (migrating a SQLite database first)."""
    import os
    import shutil

    import uvicorn

    from relevo.core.logging import uvicorn_log_config
    from relevo.server.port import port_taken

    taken = port_taken(host, port)
    if taken is not None:
        typer.echo(f"cannot serve on {host}:{port}: {taken}", err=True)
        raise typer.Exit(code=1)
    settings, database = _open_prepared()
    database.dispose()
    if workers > 1:
        # Each process counts its own requests; Prometheus sums them from this folder.
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    uvicorn.run(
        "relevo.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        access_log=access_log,
        # The client's address is the connection's: uvicorn would otherwise take it from
        # X-Forwarded-For whenever the connection comes from loopback. Relevo reads that header
        # itself, only from RELEVO_TRUSTED_PROXIES (ratelimits/addresses.py).
        proxy_headers=False,
        log_config=uvicorn_log_config(),
        log_level=settings.log_level.lower(),
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending schema migration."""
    from relevo import migrations

    _, database = _open()
    migrations.upgrade(database.engine)
    typer.echo(f"database at revision {migrations.head_revision()}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    from relevo import migrations

    _, database = _open()
    with database.engine.connect() as connection:
        typer.echo(migrations.current_revision(connection) or "empty")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("--message", "-m", help="What the change does")]) -> None:
    """Write a migration for model changes (for developers; read it before committing)."""
    from relevo import migrations

    _, database = _open()
    migrations.upgrade(database.engine)
    migrations.create_revision(database.engine, message)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs (or chunks of a batch) run at once")] = 1,
) -> None:
    """Run jobs from Redis (RELEVO_EXECUTOR=celery): on any machine that reaches the database,
    Redis and the artifacts folder; start as many as the work needs."""
    from threadpoolctl import threadpool_limits

    from relevo.job_kinds import HANDLERS
    from relevo.jobs.celery_executor import celery_app

    settings, database = _open()
    database.dispose()
    try:
        celery = celery_app(settings, HANDLERS)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    threadpool_limits(limits=1, user_api="blas")  # each process answers one user at a time
    celery.worker_main(
        ["worker", f"--concurrency={concurrency}", f"--loglevel={settings.log_level}", "--without-gossip"]
    )


@app.command()
def scheduler() -> None:
    """Look whether retraining is due (RELEVO_RETRAIN_*) every RELEVO_RETRAIN_CHECK_SECONDS and
    start it on the executor. With RELEVO_SCHEDULER=process the API leaves this to these
    processes; several may run (for availability), one training still runs at a time."""
    import signal

    from relevo.job_kinds import HANDLERS
    from relevo.jobs.executor import make_executor
    from relevo.registry.retraining import RetrainScheduler

    settings, database = _open()
    executor = make_executor(database, settings, HANDLERS)
    retraining = RetrainScheduler(database, settings, executor)
    if not retraining.enabled:
        raise typer.BadParameter(
            "retraining is off: set RELEVO_RETRAIN_INTERVAL_MINUTES or RELEVO_RETRAIN_MIN_NEW_EVENTS"
        )
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: retraining.stop())
    logging.getLogger("relevo.retraining").info(
        "looking every %g s whether %r is due for retraining", settings.retrain_check_seconds, settings.serving_model
    )
    try:
        retraining.run()
    finally:
        executor.shutdown()
        database.dispose()


@app.command()
def createadmin(
    username: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create an admin account."""
    from pydantic import ValidationError

    from relevo.accounts import service as accounts_service
    from relevo.accounts.models import Role
    from relevo.accounts.schemas import AccountCreate
    from relevo.core.errors import RelevoError

    try:
        data = AccountCreate(username=username, password=password, role=Role.admin)
    except ValidationError as exc:
        from relevo.api.errors import describe_validation_errors  # here: it loads the web layer

        raise typer.BadParameter(describe_validation_errors(exc.errors())) from None
    _, database = _open_prepared()
    try:
        with database.transaction() as session:
            account = accounts_service.create(session=session, data=data)
    except RelevoError as exc:
        raise typer.BadParameter(exc.details) from None
    typer.echo(f"admin {account.username!r} created")


@app.command()
def demo(
    products: Annotated[int, typer.Option(min=1)] = ShopSize.products,
    users: Annotated[int, typer.Option(min=1)] = ShopSize.users,
    sessions: Annotated[int, typer.Option(min=1)] = ShopSize.sessions,
    stores: Annotated[int, typer.Option(min=1)] = ShopSize.stores,
    seed: Annotated[int, typer.Option(min=0)] = ShopSize.seed,
) -> None:
    """Load a synthetic demo shop (skipped if one is loaded already); train and deploy a recommender and
    the customer-spend model if none is deployed yet."""
    from relevo.accounts import service as accounts_service
    from relevo.demo import CUSTOMER_SPEND_MODEL, DEMO_OWNER, DEMO_OWNER_PASSWORD, load_demo
    from relevo.registry import service as registry_service

    settings, database = _open_prepared()
    size = ShopSize(stores=stores, products=products, users=users, sessions=sessions, seed=seed)
    with database.transaction() as session:
        wants_admin = settings.env == "development" and not settings.admin_username
        if wants_admin and accounts_service.ensure_admin(
            session=session, username=DEMO_ADMIN[0], password=DEMO_ADMIN[1]
        ):
            typer.echo(f"created admin {DEMO_ADMIN[0]!r} with password {DEMO_ADMIN[1]!r} (development only)")
        counts = load_demo(session=session, size=size)
    if not counts:
        typer.echo("demo data is already loaded")
    else:
        typer.echo(
            f"demo shop loaded: {counts['stores']} stores, {counts['products']} products, {counts['events']} events; "
            f"store owner {DEMO_OWNER!r} / {DEMO_OWNER_PASSWORD!r}"
        )
    with database.session(write=False) as session:
        serving = registry_service.deployed(session=session, name=settings.serving_model)
    if serving is None:
        version = _train(settings, database, settings.serving_model, "hybrid", {}, "always", "random", 0)
        ndcg = version.metrics.get("ndcg", 0.0)
        typer.echo(
            f"trained and deployed {version.name} version {version.version} (NDCG@10 {ndcg:.3f} on held-out events)"
        )
    with database.session(write=False) as session:
        predicting = registry_service.deployed(session=session, name=CUSTOMER_SPEND_MODEL)
    if predicting is None:
        version = _train(settings, database, CUSTOMER_SPEND_MODEL, "customer_spend", {}, "always", "random", 0)
        typer.echo(
            f"trained and deployed {version.name} version {version.version}, a customer's spend over the next "
            f"{version.config.get('horizon_days', 90)} days: GET /inference?model_name={version.name}"
            "&customer_id=U000001&purchase_date_id=<a date>"
        )


@app.command()
def train(
    name: Annotated[str, typer.Option(help="The model's name; the API serves RELEVO_SERVING_MODEL")] = "",
    algorithm: Annotated[
        str,
        typer.Option(help="hybrid, als, bpr, ease, item_knn, content, cooccurrence, popular; customer_spend"),
    ] = "hybrid",
    config: Annotated[
        str, typer.Option(help="The algorithm's settings as JSON, e.g. '{\"embedding_dim\": 64}'")
    ] = "{}",
    deploy: Annotated[
        str, typer.Option(help="gate (unless worse than the serving version beyond the noise), always or never")
    ] = "gate",
    evaluation: Annotated[str, typer.Option(help="random or temporal holdout for the offline metrics")] = "random",
    seed: Annotated[int, typer.Option(min=0, help="Fixes the held-out split and the fit")] = 0,
) -> None:
    """Train a model version from every event, as POST /api/v1/models/{name}/train does."""
    import json
    import re

    from pydantic import ValidationError

    from relevo.api.errors import describe_validation_errors
    from relevo.registry import gate
    from relevo.registry.schemas import MODEL_NAME, TrainRequest

    settings, database = _open_prepared()
    try:
        settings_given = json.loads(config)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--config is not JSON: {exc}") from None
    name = name or settings.serving_model
    if not re.match(MODEL_NAME, name):
        raise typer.BadParameter(f"--name {name!r}: letters, digits, '_', '.' and '-' only, at most 100")
    try:
        TrainRequest(algorithm=algorithm, config=settings_given, deploy=deploy, evaluation=evaluation, seed=seed)
    except ValidationError as exc:
        raise typer.BadParameter(describe_validation_errors(exc.errors())) from None
    version = _train(settings, database, name, algorithm, settings_given, deploy, evaluation, seed)
    typer.echo(f"{version.name} version {version.version} ({version.algorithm}): {version.status}")
    typer.echo(
        gate.describe(name=name, version=version.version, status=version.status, record=version.training.get("gate"))
    )
    for metric, value in sorted(version.metrics.items()):
        typer.echo(f"  {metric:10} {value:.4f}" if isinstance(value, float) else f"  {metric:10} {value}")


def _train(
    settings: "Settings",
    database: "Database",
    name: str,
    algorithm: str,
    config: dict,
    deploy: str,
    evaluation: str,
    seed: int,
) -> "ModelVersion":
    import contextlib

    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

    from relevo.core.errors import RelevoError
    from relevo.job_kinds import HANDLERS
    from relevo.jobs import runner
    from relevo.jobs import service as jobs_service
    from relevo.registry import service as registry_service

    params = {"dataset_ids": [], "deploy": deploy, "evaluation": evaluation, "seed": seed}
    try:
        with database.transaction() as session:
            version, job = registry_service.start_training(
                session=session,
                settings=settings,
                name=name,
                algorithm=algorithm,
                config=config,
                params=params,
                created_by=None,
            )
            version_id, job_id = version.id, job.id
    except RelevoError as exc:
        raise typer.BadParameter(exc.details) from None
    columns = (BarColumn(), TaskProgressColumn(), TimeElapsedColumn(), "[progress.description]{task.description}")
    with Progress(*columns) as progress:
        task = progress.add_task(f"training {name} ({algorithm})", total=1.0)

        def show(message: str, done: float) -> None:
            progress.update(task, description=message, completed=done)

        try:
            runner.run(database, settings, job_id, handlers=HANDLERS, listener=show)
        except KeyboardInterrupt:
            # Stopped by hand: cancelled, or a server would take the job up once it went stale
            # (a job that finished meanwhile stays as it ended).
            with contextlib.suppress(RelevoError), database.transaction() as session:
                runner.cancel(
                    session=session, job=jobs_service.get_or_raise(session=session, job_id=job_id), handlers=HANDLERS
                )
            raise typer.Exit(130) from None
        progress.update(task, completed=1.0)
    with database.transaction() as session:
        version = registry_service.get(session=session, version_id=version_id)
        job = jobs_service.get_or_raise(session=session, job_id=job_id)
        if job.status == "failed":
            raise typer.BadParameter(f"training failed: {job.error}")
        return version


@app.command("import")
def import_file(
    dataset_type: Annotated[DatasetType, typer.Argument(help="interactions, items or users")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    allow_duplicate: Annotated[
        bool, typer.Option("--allow-duplicate", help="Import an interactions file imported before, again")
    ] = False,
) -> None:
    """Import a CSV file, the same as POST /api/upload-dataset/."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from relevo.core.errors import RelevoError
    from relevo.datasets import service as datasets_service

    settings, database = _open_prepared()
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress("[progress.description]{task.description}", *columns) as progress, path.open("rb") as stream:
        task = progress.add_task(f"importing {path.name}", total=path.stat().st_size)
        try:
            with database.transaction() as session:
                dataset = datasets_service.import_csv(
                    session=session,
                    dataset_type=dataset_type,
                    stream=stream,
                    filename=path.name,
                    caller=None,
                    currencies=settings.currency_rates.keys(),
                    progress=lambda done: progress.update(task, completed=done),
                    allow_duplicate=allow_duplicate,
                )
        except RelevoError as exc:
            raise typer.BadParameter(exc.details) from None
    typer.echo(
        f"dataset {dataset.id}: {dataset.rows_imported} rows imported, {dataset.rows_rejected} rejected, "
        f"{dataset.rows_duplicate} duplicates"
    )
    for line in dataset.rejected_lines[:20]:
        typer.echo(f"  line {line['line']}: {line['reason']}", err=True)


logging.captureWarnings(True)
