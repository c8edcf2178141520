"""The work behind each endpoint, as plain blocking functions of JSON-ready data.

They run in worker threads, call only the library's public API, and write no
files. Input checks that are cheap run first (:func:`check_design`), before
a search slot is taken, so a bad request never waits in the queue.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pcids.errors import FormulaError, PcidsError, UnsupportedElementError
from pcids.serve.limits import LimitError, Limits, lattice_box_size

#: Rows of DesignResult.explored sent for the band figure.
MAX_EXPLORED = 400

_sink = threading.local()
_original_showwarning = warnings.showwarning


def _showwarning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    lines = getattr(_sink, "lines", None)
    if lines is None:
        _original_showwarning(message, category, filename, lineno, file, line)
    elif str(message) not in lines:
        lines.append(str(message))


def install_warning_sink() -> None:
    """Route warnings raised in a request's thread to that request (process-wide hook, set once)."""
    from pcids.errors import ExtrapolationWarning

    warnings.showwarning = _showwarning
    warnings.filterwarnings("always", category=ExtrapolationWarning)


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """The warnings this thread raises inside the block, as messages (best effort: the
    warnings module is process-global, so a library ``catch_warnings`` in another
    thread can swallow one; results never depend on them)."""
    _sink.lines = []
    try:
        yield _sink.lines
    finally:
        _sink.lines = None


#: Messages of the objective checks design and screen share: (pattern, request field).
OBJECTIVE_PATTERNS = (
    (r"^at[_ ]least\b", "at_least"),
    (r"^at[_ ]most\b", "at_most"),
    (r"^confidence\b", "confidence"),
    (r"\bboth maximised and minimised\b|^maximize and minimize\b|\band an objective to\b|^objective\b", "maximize"),
    (r"^contradictory constraints\b", "at_least"),
)

#: (pattern in a library message, the request field it concerns), first match wins.
_FIELD_PATTERNS = (
    (r"^(no )?targets?\b", "targets"),
    (r"^(infeasible )?(bounds|fixed)\b", "bounds"),
    (r"\bbounded and fixed\b", "bounds"),
    (r"^tolerance\b", "tolerance"),
    (r"^(step|the lattice step)\b|\bstep h\b(?! =)", "h"),
    (r"^correction size e\b", "E"),
    (r"^top_k\b", "top_k"),
    (r"^gfa_threshold_mm\b|^gfa_min_probability\b", "gfa_threshold_mm"),
    (r"^max_iterations\b", "max_iterations"),
    (r"^prefer\b", "prefer"),
    (r"^aggregate\b", "aggregate"),
    *OBJECTIVE_PATTERNS,
    (r"\belements?\b", "elements"),
)


def error_field(exc: BaseException) -> str | None:
    """Which form field a library error concerns, from its class and wording (None: the form as a whole)."""
    import re

    if isinstance(exc, LimitError):
        return exc.field
    if isinstance(exc, (FormulaError, UnsupportedElementError)):
        return "elements"
    text = str(exc).lower()
    return next((field for pattern, field in _FIELD_PATTERNS if re.search(pattern, text)), None)


# ---------------------------------------------------------------------------
# design


def design_options() -> dict[str, Any]:
    """design()'s keyword options and their defaults (the library's signature, so the server follows it)."""
    from pcids.design import design

    return {k: p.default for k, p in inspect.signature(design).parameters.items() if p.default is not inspect.Parameter.empty}


def check_design(request: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The library's own checks plus the server's caps; returns design()'s keyword arguments.

    Raises PcidsError (the CLI's message) or LimitError, each naming its field.
    """
    from pcids.design import check_bounds, check_design_elements, check_objective_names

    req = dict(request)
    elements = req.pop("elements")
    options = design_options()
    unknown = [k for k in req if k != "targets" and k not in options]
    if unknown:
        raise LimitError(f"this version of pcids has no design option {', '.join(unknown)}", unknown[0])
    if len(elements) > limits.max_elements:
        raise LimitError(f"at most {limits.max_elements} elements per design on this server, got {len(elements)}", "elements")
    objectives = {k: req[k] for k in ("at_least", "at_most", "maximize", "minimize") if req.get(k) is not None}
    for field, check in (
        ("elements", lambda: check_design_elements(elements)),
        ("targets", lambda: check_objective_names(req.get("targets"), **objectives)),
        ("bounds", lambda: check_bounds(elements, req.get("bounds"), req.get("fixed"))),
    ):
        try:
            check()
        except PcidsError as exc:
            exc.field = objective_field(str(exc), objectives) if field == "targets" else field  # type: ignore[attr-defined]
            raise
    _check_caps(list(elements), {**options, **req}, limits)
    if "max_widen_candidates" in options:
        req["max_widen_candidates"] = limits.max_candidates
    return {"elements": list(elements), **req}


def objective_field(message: str, objectives: dict[str, Any]) -> str:
    """Which of targets, at_least, at_most, maximize, minimize a name check's message concerns."""
    import re

    m = re.match(r"unknown (constraint|objective) '([^']*)'", message)
    if m:
        fields = ("at_least", "at_most") if m.group(1) == "constraint" else ("maximize", "minimize")
        return next((f for f in fields if m.group(2) in (objectives.get(f) or ())), fields[0])
    return error_field(PcidsError(message)) or "targets"


def _check_caps(elements: list[str], opts: dict[str, Any], limits: Limits) -> None:
    """Refuse what would score more than the server allows (values the library would refuse pass: it says why)."""
    for name, cap in (("top_k", limits.max_top_k), ("max_iterations", limits.max_iterations), ("n_random", limits.max_restarts)):
        v = opts.get(name)
        if isinstance(v, int) and v > cap:
            raise LimitError(f"{name} must be at most {cap} on this server, got {v}", name)
    E, h, fixed = opts.get("E"), opts.get("h"), opts.get("fixed") or {}
    if not (isinstance(E, (int, float)) and isinstance(h, (int, float)) and 0 < h <= E):
        return
    strategy = "exhaustive" if opts.get("exhaustive") else opts.get("strategy", "paper")  # no strategies: the paper's scheme
    n_free = len(elements) - len(fixed)
    if strategy == "paper":
        size = lattice_box_size(n_free, float(E), float(h))
        what, fix, field = f"a corrector box of E = {E:g}, h = {h:g} over {n_free} free elements can hold", "use a smaller E or a larger h", "E"
    elif strategy == "exhaustive":
        from pcids.corrector import lattice_size

        centre = {e: fixed.get(e, 100.0 / len(elements)) for e in elements}
        size = lattice_size(centre, E=100.0, h=float(h), bounds=opts.get("bounds"), fixed=fixed)
        what, fix, field = f"the whole lattice of {len(elements)} elements at h = {h:g} holds", "use a larger h, bounds, or another strategy", "strategy"
    else:
        return
    if size > limits.max_candidates:
        raise LimitError(f"{what} {size:,} compositions; this server scores at most {limits.max_candidates:,} per search: {fix}", field)


def run_design(kwargs: dict[str, Any]) -> dict[str, Any]:
    """design(**kwargs) -> the response body (the result's dict, what the CLI prints, CSV, band)."""
    from pcids.design import design
    from pcids.serve.table import candidates_table, cli_report

    t0 = time.perf_counter()
    args = dict(kwargs)
    elements, targets = args.pop("elements"), args.pop("targets")
    with collect_warnings() as caught:
        result = design(elements, targets, **args)
    body = json.loads(result.to_json())
    body["report"] = cli_report(result)
    body["table"] = candidates_table(body["report"])
    body["explored"] = _explored(result)
    body["csv"] = result.candidates.to_csv(index=False)
    body["warnings"] = list(caught)
    body["seconds"] = round(time.perf_counter() - t0, 3)
    return body


def _explored(result: Any) -> list[dict[str, Any]]:
    ex = getattr(result, "explored", None)
    if ex is None or len(ex) == 0:
        return []
    objectives = [c for c, _ in result.settings.get("pareto_objectives") or []]  # the Pareto figure's axes
    cols = [c for c in dict.fromkeys((*result.elements, "error", "target_met", "gfa_pass", "status", "pareto", "rank", *objectives)) if c in ex.columns]
    return json.loads(ex[cols].head(MAX_EXPLORED).to_json(orient="records"))


# ---------------------------------------------------------------------------
# predict / gfa: one row per formula, bad rows keep their message


def rows_for(formulas: Sequence[str], predict: Callable[[list[str]], list[dict[str, Any]]]) -> dict[str, Any]:
    """One row per formula, as ``pcids predict/gfa --json`` gives it (``input`` as typed, ``formula``
    canonical), the bad ones kept with their message: the CLI's own batch reader
    (:func:`pcids.cli._batch.predict_rows`) finds them."""
    from pcids.cli._batch import Row, predict_rows
    from pcids.composition import parse_formula

    given = [Row(f"formula {i}", f) for i, f in enumerate(formulas, 1)]
    with collect_warnings() as caught:
        records, bad = predict_rows(given, predict)
    reasons = {r.where: reason for r, reason in bad}
    good = iter(records or [])
    rows: list[dict[str, Any]] = []
    for r in given:
        if r.where in reasons:
            rows.append({"input": r.text, "ok": False, "error": reasons[r.where], "warnings": []})
            continue
        problem = parse_formula(r.text).sum_problem()
        rows.append({"input": r.text, "ok": True, "warnings": [f"{problem}; normalised to 100 at.%"] if problem else [], **next(good)})
    n_ok = sum(r["ok"] for r in rows)
    return {"rows": rows, "n_ok": n_ok, "n_failed": len(rows) - n_ok, "warnings": list(caught)}


def _records(df: Any) -> list[dict[str, Any]]:
    return json.loads(df.reset_index().to_json(orient="records"))  # the index is the canonical formula


def predict_elastic(comps: list[Any]) -> list[dict[str, Any]]:
    """Every shipped property +- sigma (G, K, E, nu, Tg, Tx, Tl, dTx, Trg, gamma) and in_domain per
    composition, as ``pcids predict --json`` (pcids.models.properties.predict_properties)."""
    from pcids.models.properties import predict_properties

    return _records(predict_properties(comps))


def predict_gfa(comps: list[Any]) -> list[dict[str, Any]]:
    """What ``pcids gfa`` reports per composition: P(Dmax >= threshold), the verdict, Dmax with its
    ~68 % range (and the diameter if a glass, where the model gives it), in_domain."""
    from pcids.models.gfa import load_gfa_model

    m = load_gfa_model()
    df = m.predict_gfa(comps)  # one Dmax consistent with P and the verdict, as `pcids gfa` shows them
    df["in_domain"] = m.domain_check(comps)
    df.insert(0, "threshold_mm", float(m.threshold_mm))
    return _records(df)


def warm_up() -> None:
    """Load the shipped models and run one tiny design, so the first request does not pay
    the one-off costs (and concurrent first requests do not race to load the models)."""
    from pcids.design import design
    from pcids.models.ensemble import load_elastic_model
    from pcids.models.gfa import load_gfa_model

    load_elastic_model()
    load_gfa_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design(["Cu", "Zr"], {"G": 31.0}, top_k=1)
