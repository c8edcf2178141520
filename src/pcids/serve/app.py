"""The FastAPI app behind ``pcids serve``: the page, the JSON API and its docs, all served locally.

Endpoints: ``POST /api/design``, ``/api/screen``, ``/api/predict``, ``/api/gfa``; ``GET
/api/info`` (supported elements, limits), ``/api/health``; the schema at
``/openapi.json``, Swagger UI at ``/docs`` from assets bundled in the
fastapi-offline package (FastAPI's own page loads them from a CDN; ReDoc is
off, since it fetches its logo from one). Errors are ``{"detail", "field", "error"}``: 422 for bad input
(the library's message, as the CLI prints it), 413 for a body over the cap,
429 when the search queue is full, 503 past the time limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from pcids.errors import PcidsError
from pcids.serve import jobs, screening
from pcids.serve.limits import BodySizeLimit, LimitError, Limits, SearchGate
from pcids.serve.schemas import DesignRequest, DesignResponse, ErrorResponse, FormulasRequest, RowsResponse, ScreenRequest, ScreenResponse

STATIC = Path(__file__).parent / "static"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": what}
    for code, what in (
        (413, "Request body too large"),
        (422, "Bad input, with the library's message"),
        (429, "Too many searches at once; retry later"),
        (503, "Past the per-request time limit"),
    )
}


def _error(status: int, detail: str, field: str | None, kind: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field, "error": kind}, status_code=status)


def _properties() -> dict[str, dict[str, str]]:
    """Every property /api/predict answers: {name: {unit, description}} (the library's table)."""
    from pcids.models.properties import PROPERTIES

    return {name: {"unit": str(p["unit"]), "description": str(p["description"])} for name, p in PROPERTIES.items()}


def _quantities() -> dict[str, dict[str, str]]:
    """Every name a design can target, bound, maximise or minimise, with its unit (the library's registry)."""
    from pcids.design.quantities import BUILTIN, shipped_names

    props = _properties()
    out = {name: {"unit": unit, "description": what} for name, (unit, what) in BUILTIN.items()}
    for name in shipped_names():
        out.setdefault(name, props.get(name, {"unit": "", "description": name}))
    return out


def create_app(limits: Limits | None = None) -> FastAPI:
    """A new app with its own search gate; ``limits`` defaults to :class:`Limits()`."""
    from fastapi_offline import FastAPIOffline

    import pcids

    limits = limits or Limits()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs.install_warning_sink()
        await run_in_threadpool(jobs.warm_up)
        app.state.gate = SearchGate(limits.max_concurrent, limits.max_queue)
        app.state.dask = screening.InProcessDask(limits.max_concurrent)
        try:
            yield
        finally:
            app.state.gate.close()
            await run_in_threadpool(app.state.dask.close)

    app = FastAPIOffline(
        title="pcids",
        version=getattr(pcids, "__version__", "0"),
        description="Inverse design of metallic glasses: target moduli -> compositions that should cast as bulk glasses.",
        lifespan=lifespan,
        redoc_url=None,  # ReDoc fetches its logo from its CDN
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.limits = limits
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(PcidsError)
    async def _pcids_error(request: Request, exc: PcidsError) -> JSONResponse:
        return _error(422, str(exc), getattr(exc, "field", None) or jobs.error_field(exc), type(exc).__name__)

    @app.exception_handler(LimitError)
    async def _limit_error(request: Request, exc: LimitError) -> JSONResponse:
        response = _error(exc.status, str(exc), exc.field, type(exc).__name__)
        if exc.status == 429:
            response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        where = ".".join(loc)
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return _error(422, detail, loc[0] if loc else None, "RequestValidationError")

    @app.get("/api/health", summary="Liveness, and how busy the search pool is")
    async def health(request: Request) -> dict[str, Any]:
        return {"status": "ok", "searches": request.app.state.gate.state()}

    @app.get("/api/info", summary="Elements with data (and in the training data), design options with their defaults and choices, this server's limits")
    async def info() -> dict[str, Any]:
        import importlib

        from pcids.elements import supported_elements
        from pcids.models.ensemble import load_elastic_model

        lib = importlib.import_module("pcids.design")  # the module (pcids.design is also the function's name)
        fields = set(DesignRequest.model_fields) - {"elements", "targets"}
        options = {k: v for k, v in jobs.design_options().items() if k in fields}  # what this pcids takes, as the API names it
        choices = {name: list(getattr(lib, const)) for name, const in (("prefer", "PREFER"), ("strategy", "STRATEGIES")) if hasattr(lib, const)}
        return {
            "version": app.version,
            "elements": list(supported_elements()),
            "trained": sorted(load_elastic_model().elements_),
            "targets": list(lib.TARGETS),
            "design_options": options,
            "screen_options": screening.screen_options(),
            "properties": _properties(),
            "quantities": _quantities(),
            "choices": choices,
            "limits": limits.to_dict(),
        }

    @app.post("/api/design", summary="pcids.design.design(elements, targets, **options)", responses={200: {"model": DesignResponse}, **_ERRORS})
    async def design(request: Request, body: DesignRequest) -> JSONResponse:
        kwargs = jobs.check_design(body.model_dump(exclude_unset=True), limits)
        result = await request.app.state.gate.run(lambda: jobs.run_design(kwargs), limits.time_limit_s)
        return JSONResponse(result)

    @app.post("/api/screen", summary="pcids.screen.screen(palette, sizes, targets, **options), bounded", responses={200: {"model": ScreenResponse}, **_ERRORS})
    async def screen(request: Request, body: ScreenRequest) -> JSONResponse:
        import threading

        kwargs = await run_in_threadpool(screening.check_screen, body.model_dump(exclude_unset=True), limits)
        dask, cancel = request.app.state.dask, threading.Event()
        result = await request.app.state.gate.run(lambda: screening.run_screen(kwargs, dask.client(), cancel), limits.time_limit_s, cancel, screening.ADVICE)
        return JSONResponse(result)

    async def _rows(body: FormulasRequest, predict: Any) -> JSONResponse:
        if not body.formulas:
            raise LimitError("give at least one formula", "formulas")
        if len(body.formulas) > limits.max_formulas:
            raise LimitError(f"at most {limits.max_formulas} formulas per request, got {len(body.formulas)}", "formulas")
        out = await run_in_threadpool(jobs.rows_for, body.formulas, predict)
        if out["n_ok"] == 0:  # nothing usable: the request as a whole is bad input
            return JSONResponse({"detail": out["rows"][0]["error"], "field": "formulas", "error": "NoUsableFormula", **out}, status_code=422)
        return JSONResponse(out)

    @app.post("/api/predict", summary="Every shipped property +- sigma per formula (G, K, E, nu, Tg, Tx, Tl, dTx, Trg, gamma: pcids.models.properties.predict_properties)", responses={200: {"model": RowsResponse}, **_ERRORS})
    async def predict(body: FormulasRequest) -> JSONResponse:
        return await _rows(body, jobs.predict_elastic)

    @app.post("/api/gfa", summary="P(Dmax >= 2 mm) and Dmax per formula (GFAModel.predict_proba, predict_dmax)", responses={200: {"model": RowsResponse}, **_ERRORS})
    async def gfa(body: FormulasRequest) -> JSONResponse:
        return await _rows(body, jobs.predict_gfa)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
