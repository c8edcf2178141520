"""Request and response bodies of the HTTP API: they mirror the Python API's arguments.

``DesignRequest`` is ``pcids.design.design(elements, targets, **options)`` as
JSON; an option left out takes the library's default, and an explicit
``null`` means what ``None`` means there (``gfa_threshold_mm: null`` skips
the GFA check). Values are checked by the library, so a bad one gets the
same message as the CLI.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DesignRequest(_Strict):
    """Options this pcids's design() does not take are refused with a 422 naming them."""

    elements: list[str] = Field(..., description="Element symbols, e.g. [\"Ti\", \"Zr\", \"Be\", \"Fe\"].", examples=[["Ti", "Zr", "Be", "Fe"]])
    targets: dict[str, Union[float, str, None]] = Field(
        ..., description="{quantity: value}: G, K, E (GPa), nu, or any predicted quantity (Tg, Tx, Tl in K, Dmax, cost, ...; "
        "GET /api/info lists them). A value that is not a number gets the library's message.", examples=[{"G": 36, "K": 105}]
    )
    at_least: Optional[dict[str, Union[float, str, None]]] = Field(
        None, description="{quantity: bound}: met with probability >= confidence, e.g. {\"Dmax\": 5} (mm).", examples=[{"Dmax": 5}]
    )
    at_most: Optional[dict[str, Union[float, str, None]]] = Field(None, description="{quantity: bound}, e.g. {\"cost\": 20} (USD/kg).", examples=[{"cost": 20}])
    maximize: Optional[list[str]] = Field(None, description="Quantities to maximise (with targets or minimize: the Pareto set leads the table).", examples=[["p_gfa"]])
    minimize: Optional[list[str]] = Field(None, description="Quantities to minimise, e.g. [\"cost\"].", examples=[["cost"]])
    confidence: Optional[float] = Field(None, description="Probability the constraints must be met with, jointly (default 0.5).")
    tolerance: Optional[float] = Field(None, description="Largest acceptable error (relative: 0.02 = 2 %).")
    relative: Optional[bool] = Field(None, description="Errors relative to the targets (default) or in GPa.")
    aggregate: Optional[str] = Field(None, description="Combine the targets' errors: max or sum.")
    prefer: Optional[str] = Field(None, description="The ranking rule (see pcids.design.design; GET /api/info lists the choices).")
    E: Optional[float] = Field(None, description="Corrector half-width (at.%).")
    h: Optional[float] = Field(None, description="Lattice step (at.%; must divide 100).")
    top_k: Optional[int] = Field(None, description="Candidates returned.")
    gfa_threshold_mm: Optional[float] = Field(2.0, description="Dmax (mm) a candidate must reach; null skips the GFA check.")
    gfa_min_probability: Optional[float] = Field(None, description="Probability the GFA check requires (default: the model's operating point).")
    bounds: Optional[dict[str, tuple[Optional[float], Optional[float]]]] = Field(
        None, description="{element: [min, max]} at.%; either may be null.", examples=[{"Fe": [0, 10]}]
    )
    fixed: Optional[dict[str, float]] = Field(None, description="{element: at.%} held fixed.", examples=[{"Be": 25}])
    min_distance: Optional[float] = Field(None, description="Every pair of returned candidates at least this far apart (at.%, L1).")
    strategy: Optional[str] = Field(None, description="auto, exhaustive, global or paper (GET /api/info lists the choices).")
    exhaustive: Optional[bool] = Field(None, description="Search the whole lattice (strategy exhaustive).")
    bandwidth: Optional[float] = Field(None, description="The likelihood ranking's kernel width (at.%).")
    plausibility_weight: Optional[float] = Field(None, description="Weight of closeness to known glass formers in the likelihood ranking.")
    gfa_weight: Optional[float] = Field(None, description="Weight of P(GFA) in the likelihood ranking.")
    n_random: Optional[int] = Field(None, description="Random restarts of the global search.")
    seed: Optional[int] = Field(None, description="Seed of the random restarts.")
    max_iterations: Optional[int] = Field(None, description="Corrector searches allowed (paper strategy).")
    max_E: Optional[float] = Field(None, description="Largest half-width when correcting further (at.%).")
    tie_resolution: Optional[float] = Field(None, description="Errors up to this count as equally close.")


class ScreenRequest(_Strict):
    """``pcids.screen.screen(palette, sizes, targets, **options)`` as JSON, bounded (GET /api/info lists the caps).

    Where results go and which cluster runs it are the server's business (out, resume, client,
    scheduler, workers are not taken)."""

    palette: Union[str, list[str]] = Field(
        ..., description="Element symbols, \"Zr,Cu,Ni,Al\", or a named palette (\"glass-formers:10\").", examples=[["Ti", "Zr", "Be", "Fe", "Cu", "Ni"]]
    )
    sizes: Optional[Union[str, int, list[int]]] = Field(None, description="Elements per system: \"3-5\", 4 or [3, 4] (default 3-5).", examples=["3-4"])
    targets: dict[str, Union[float, str, None]] = Field(..., description="As for /api/design.", examples=[{"G": 36, "K": 105}])
    at_least: Optional[dict[str, Union[float, str, None]]] = Field(None, description="As for /api/design, e.g. {\"Dmax\": 5}.", examples=[{"Dmax": 5}])
    at_most: Optional[dict[str, Union[float, str, None]]] = Field(None, description="As for /api/design, e.g. {\"cost\": 20}.", examples=[{"cost": 20}])
    maximize: Optional[list[str]] = Field(None, description="Quantities to maximise: each status group's Pareto set leads, per system and across systems.")
    minimize: Optional[list[str]] = Field(None, description="Quantities to minimise, e.g. [\"cost\"].", examples=[["cost"]])
    confidence: Optional[float] = Field(None, description="Probability the constraints must be met with, jointly (default 0.5).")
    tolerance: Optional[float] = Field(None, description="Largest acceptable error (relative: 0.02 = 2 %).")
    relative: Optional[bool] = Field(None, description="Errors relative to the targets (default) or in GPa.")
    bounds: Optional[dict[str, tuple[Optional[float], Optional[float]]]] = Field(
        None, description="{element: [min, max]} at.%, applied to the systems holding it.", examples=[{"Fe": [0, 10]}]
    )
    step: Optional[float] = Field(None, description="Coarse lattice step (at.%; must divide 100).")
    gfa_threshold_mm: Optional[float] = Field(2.0, description="Dmax (mm) of the GFA check; null ranks on the targets alone.")
    top: Optional[int] = Field(None, description="Best systems refined by a full design at 1 at.% (0: none).")
    keep: Optional[int] = Field(None, description="Best coarse compositions kept per system.")
    refine_k: Optional[int] = Field(None, description="Candidates per refined system.")
    only: Optional[list[Union[str, list[str]]]] = Field(None, description="Screen just these systems of the palette, e.g. [\"Ti-Zr-Be\"].")
    show: Optional[int] = Field(None, description="Systems listed with their candidates in the answer (best first; default 50); the CSV holds all.")


class FormulasRequest(_Strict):
    formulas: list[str] = Field(..., description="Alloy formulas (at.%).", examples=[["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu50Zr50"]])


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="What is wrong, in the CLI's words.")
    field: Optional[str] = Field(None, description="The request field it concerns (elements, targets, bounds, formulas, ...), if one.")
    error: str = Field(..., description="The error's class, e.g. UnknownElementError, Busy, TimedOut.")


class Table(BaseModel):
    title: str
    columns: list[str]
    rows: list[list[str]]


class DesignResponse(BaseModel):
    elements: list[str]
    targets: dict[str, float]
    success: bool
    message: str
    settings: dict[str, Any]
    candidates: list[dict[str, Any]] = Field(..., description="DesignResult.candidates, one record per row.")
    trace: list[dict[str, Any]]
    table: Table = Field(..., description="The candidates table as `pcids design` prints it (plain text cells).")
    report: list[dict[str, Any]] = Field(..., description="Everything `pcids design` prints, in order: {text} lines and {title, columns, rows} tables.")
    explored: list[dict[str, Any]] = Field(..., description="Compositions the search evaluated (at most a few hundred), for the band figure.")
    csv: str = Field(..., description="The candidates table as `pcids design --csv` writes it.")
    warnings: list[str]
    seconds: float


class ScreenResponse(BaseModel):
    settings: dict[str, Any]
    stats: dict[str, Any] = Field(..., description="Systems screened, batches, refined, seconds (ScreenResult.stats).")
    systems: list[dict[str, Any]] = Field(..., description="The best `show` systems, best first, each with its coarse candidates (and refined designs).")
    n_systems: int
    table: Optional[Table] = Field(None, description="The systems table as `pcids screen` prints it.")
    report: list[dict[str, Any]] = Field(..., description="Everything `pcids screen` prints, in order.")
    csv: str = Field(..., description="Every system, as `pcids screen --out` writes systems.csv.")
    warnings: list[str]
    seconds: float


class RowResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    formula: str
    ok: bool
    error: Optional[str] = None
    warnings: list[str] = []


class RowsResponse(BaseModel):
    rows: list[RowResult]
    n_ok: int
    n_failed: int
    warnings: list[str]
