"""The application factory: one FastAPI app per process, built from settings."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from threadpoolctl import threadpool_limits

from relevo import __version__
from relevo.accounts import publishable
from relevo.accounts.callers import CallerCache
from relevo.accounts.publishable import KeyOrigins
from relevo.accounts.router import router as accounts_router
from relevo.api.deps import document_reads
from relevo.api.errors import install_error_handlers
from relevo.batch.router import router as batch_router
from relevo.catalog.router import router as catalog_router
from relevo.compat.ai_service import router as ai_service_router
from relevo.compat.background_jobs import router as background_jobs_router
from relevo.compat.model_serving import router as model_serving_router
from relevo.compat.purchases import router as purchases_router
from relevo.compat.smartcommerce import router as smartcommerce_router
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.logging import configure_logging
from relevo.datasets.router import router as datasets_router
from relevo.events.router import router as events_router
from relevo.events.writer import EventWriter
from relevo.experiments.router import router as experiments_router
from relevo.exposures.writer import ExposureWriter
from relevo.inference import service as inference_service
from relevo.inference.router import router as inference_router
from relevo.job_kinds import HANDLERS
from relevo.jobs.executor import make_executor
from relevo.jobs.router import router as jobs_router
from relevo.ops.router import router as ops_router
from relevo.performance.requests import RequestStatistics
from relevo.performance.router import router as performance_router
from relevo.privacy.router import router as privacy_router
from relevo.ratelimits.limiter import RateLimiter
from relevo.recommend.router import router as recommend_router
from relevo.recommend.state import ServingState
from relevo.registry.registry_router import MODEL_UPLOAD_PATHS
from relevo.registry.registry_router import router as model_registry_router
from relevo.registry.retraining import RetrainScheduler
from relevo.registry.router import router as registry_router
from relevo.server.cors import BrowserAccess
from relevo.server.docs import add_documentation_pages
from relevo.server.middleware import RequestMiddleware
from relevo.server.script import add_browser_script
from relevo.users.router import router as users_router

# Requests are matched against routes in this order, one route after another (each try costs a
# few microseconds), so the busiest come first: recommendation reads, then event ingestion.
ROUTERS = (
    recommend_router,
    smartcommerce_router,
    events_router,
    purchases_router,
    ai_service_router,
    ops_router,
    accounts_router,
    catalog_router,
    users_router,
    privacy_router,
    datasets_router,
    registry_router,
    model_registry_router,
    inference_router,
    experiments_router,
    performance_router,
    jobs_router,
    batch_router,
    background_jobs_router,
    model_serving_router,
)

DESCRIPTION = """Relevo ingests a shop's catalog and its customers' behaviour and serves recommendations.

Authenticate with `Authorization: Bearer <token>` (or `Token <token>`), where the token is a JWT
from `POST /login` or `POST /api/v1/auth/token`, or an API key from `POST /api/v1/api-keys`.
Errors answer `{"error": ..., "details": ...}`.
"""


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Builds the app. Without arguments it reads RELEVO_* settings (the uvicorn factory)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    owns_database = database is None
    database = database or Database(settings.resolved_database_url)

    event_writer = EventWriter(database)
    exposure_writer = ExposureWriter(database, retention_days=settings.exposure_retention_days)
    statistics = (
        RequestStatistics(database, retention_days=settings.exposure_retention_days)
        if settings.online_metrics
        else None
    )
    executor = make_executor(database, settings, HANDLERS)
    retraining = RetrainScheduler(database, settings, executor)
    rate_limiter = RateLimiter(settings) if settings.rate_limits else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A request's matrix products are small: extra BLAS threads would only spin against the
        # other worker processes (training sets its own thread counts where they pay off).
        blas = threadpool_limits(limits=1, user_api="blas")
        executor.start()
        if settings.scheduler == "api":
            retraining.start()
        yield
        retraining.stop()
        if rate_limiter is not None:
            await rate_limiter.close()
        blas.restore_original_limits()
        executor.shutdown()
        event_writer.close()
        exposure_writer.close()
        if statistics is not None:
            statistics.close()
        if owns_database:
            database.dispose()

    app = FastAPI(
        title="Relevo", version=__version__, description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.database = database
    app.state.callers = CallerCache(seconds=settings.auth_cache_seconds)
    app.state.rate_limiter = rate_limiter
    app.state.event_writer = event_writer
    app.state.exposures = exposure_writer
    app.state.request_statistics = statistics
    app.state.executor = executor
    app.state.serving = ServingState.open(database, settings)
    app.state.predictors = inference_service.predictor_cache(settings)
    install_error_handlers(app)
    # Inside the request middleware (added first), so that preflights get a request id too.
    key_origins = KeyOrigins(database, seconds=settings.auth_cache_seconds)
    app.add_middleware(
        BrowserAccess, origins=settings.cors_origin_list, key_origins=key_origins, key_paths=publishable.PATHS
    )
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_upload_bytes,
        statistics=statistics,
        model_upload_bytes=(MODEL_UPLOAD_PATHS, settings.max_model_upload_bytes),
    )
    for router in ROUTERS:
        app.include_router(router)
    add_documentation_pages(app)  # after the API's routes, which requests match first
    add_browser_script(app)
    document_reads(app, public=settings.public_recommendations)
    return app
