"""Health, metrics, Swagger UI (served without any CDN) and the problem type pages, at the root."""

import asyncio
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import ConfigDict, Field
from sqlalchemy import text

from blink_api.identity.dependencies import Public
from blink_api.kit.errors import NotFound, ServiceUnavailable, problem_responses
from blink_api.kit.schema import ResponseModel
from blink_api.system.problems import router as problems_router

# What the app includes: every route below is public.
router = APIRouter(dependencies=[Public])
system = APIRouter(tags=["system"])


class Health(ResponseModel):
    """The answer of a health check that passed."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str = Field(description="`ok`: the check passed (a failed check answers a problem instead).")


@system.get("/health/live", name="system:live", summary="The process is up")
async def live() -> Health:
    """Anyone, without logging in: answers as long as the process serves requests, without asking
    the database. For liveness probes: a failure means the process should be restarted."""
    return Health(status="ok")


@system.get(
    "/health/ready", name="system:ready", responses=problem_responses(503), summary="The database answers"
)
async def ready(request: Request) -> Health:
    """Anyone, without logging in: answers `ok` when the database answers in time
    (`BLINK_READY_TIMEOUT_SECONDS`), else 503 with a problem. For readiness probes: a failure means no
    traffic should be sent here for now."""
    # Bounded by BLINK_READY_TIMEOUT_SECONDS even when the database stalls: a probe that hangs tells
    # an orchestrator nothing.
    context = request.app.state.context
    try:
        async with asyncio.timeout(context.settings.ready_timeout_seconds):
            async with context.database.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise ServiceUnavailable("The database does not answer.") from exc
    return Health(status="ok")


@system.get(
    "/metrics",
    name="system:metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    """Anyone, without logging in (restrict it at the proxy where that matters): this process's
    metrics in the Prometheus text format: `blink_http_requests_total` by method, route and status,
    `blink_http_request_duration_seconds` by method and route, and `blink_mails_total` by outcome."""
    body, media_type = request.app.state.metrics.render()
    return Response(body, media_type=media_type)


_SWAGGER_FILES = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@system.get("/docs", name="system:docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API documentation",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
        swagger_ui_parameters={"persistAuthorization": True, "displayRequestDuration": True},
    )


@system.get("/docs/assets/{filename}", name="system:docs_asset", include_in_schema=False)
async def docs_asset(filename: str) -> FileResponse:
    if filename not in _SWAGGER_FILES:
        raise NotFound("No such documentation asset.")
    path = resources.files("fastapi_swagger") / "resources" / filename
    return FileResponse(
        str(path), media_type=_SWAGGER_FILES[filename], headers={"Cache-Control": "public, max-age=86400"}
    )


router.include_router(system)
router.include_router(problems_router)
