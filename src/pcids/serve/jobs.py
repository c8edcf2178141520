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


def _design_defaults() -> dict[str, Any]:
    from pcids.design import design

    return {k: p.default for k, p in inspect.signature(design).parameters.items() if p.default is not inspect.Parameter.empty}


def check_design(request: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The library's own checks plus the server's caps; returns design()'s keyword arguments.

    Raises PcidsError (the CLI's message) or LimitError, each naming its field.
    """
    from pcids.design import check_bounds, check_design_elements, check_targets

    req = dict(request)
    elements = req.pop("elements")
    if len(elements) > limits.max_elements:
        raise LimitError(f"at most {limits.max_elements} elements per design on this server, got {len(elements)}", "elements")
    try:
        elements = check_design_elements(elements)
    except PcidsError as exc:
        raise _with_field(exc, "elements") from None
    try:
        check_targets(req.get("targets"))
    except PcidsError as exc:
        raise _with_field(exc, "targets") from None
    try:
        check_bounds(elements, req.get("bounds"), req.get("fixed"))
    except PcidsError as exc:
        raise _with_field(exc, "bounds") from None
    defaults = _design_defaults()
    top_k = req.get("top_k", defaults["top_k"])
    if isinstance(top_k, int) and top_k > limits.max_top_k:
        raise LimitError(f"top_k must be at most {limits.max_top_k} on this server, got {top_k}", "top_k")
    iterations = req.get("max_iterations", defaults["max_iterations"])
    if isinstance(iterations, int) and iterations > limits.max_iterations:
        raise LimitError(f"max_iterations must be at most {limits.max_iterations} on this server, got {iterations}", "max_iterations")
    E, h = req.get("E", defaults["E"]), req.get("h", defaults["h"])
    if isinstance(E, (int, float)) and isinstance(h, (int, float)) and h > 0 and E >= h:
        n_free = len(elements) - len(req.get("fixed") or {})
        size = lattice_box_size(n_free, float(E), float(h))
        if size > limits.max_candidates:
            raise LimitError(
                f"a search box of E = {E:g}, h = {h:g} over {n_free} free elements can hold {size:,} compositions; "
                f"this server scores at most {limits.max_candidates:,} per search: use a smaller E or a larger h",
                "E",
            )
    req["max_widen_candidates"] = limits.max_candidates
    return {"elements": elements, **req}


def _with_field(exc: PcidsError, field: str) -> PcidsError:
    exc.field = field  # type: ignore[attr-defined]
    return exc


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
    cols = [c for c in (*result.elements, "error", "target_met", "gfa_pass") if c in ex.columns]
    return json.loads(ex[cols].head(MAX_EXPLORED).to_json(orient="records"))


# ---------------------------------------------------------------------------
# predict / gfa: one row per formula, bad rows keep their message


def rows_for(formulas: Sequence[str], predict: Callable[[list[Any]], list[dict[str, Any]]]) -> dict[str, Any]:
    """Parse each formula, predict the good ones together, and keep a message for each bad one.

    ``predict`` maps Compositions to one dict per composition; if it refuses the
    batch (e.g. an element without data), rows are retried alone so only the
    culprits fail.
    """
    from pcids.composition import Composition, parse_formula

    rows: list[dict[str, Any]] = [{"formula": f, "ok": False, "warnings": []} for f in formulas]
    good: list[tuple[int, Any]] = []
    for i, f in enumerate(formulas):
        try:
            comp = Composition.from_formula(f)
            problem = parse_formula(f).sum_problem()
        except PcidsError as exc:
            rows[i]["error"] = str(exc)
            continue
        if problem is not None:
            rows[i]["warnings"].append(f"{problem}; normalised to 100 at.%")
        rows[i]["canonical"] = comp.formula
        good.append((i, comp))
    with collect_warnings() as caught:
        try:
            if good:
                _fill(rows, good, predict([c for _, c in good]))
        except PcidsError:
            for i, comp in good:
                try:
                    _fill(rows, [(i, comp)], predict([comp]))
                except PcidsError as exc:
                    rows[i]["error"] = str(exc)
    n_ok = sum(r["ok"] for r in rows)
    return {"rows": rows, "n_ok": n_ok, "n_failed": len(rows) - n_ok, "warnings": list(caught)}


def _fill(rows: list[dict[str, Any]], good: list[tuple[int, Any]], values: list[dict[str, Any]]) -> None:
    for (i, _), v in zip(good, values):
        rows[i].update(v)
        rows[i]["ok"] = True


def _records(df: Any) -> list[dict[str, Any]]:
    return json.loads(df.reset_index(drop=True).to_json(orient="records"))


def predict_elastic(comps: list[Any]) -> list[dict[str, Any]]:
    """G, K, E, nu +- sigma and in_domain per composition (ElasticModel.predict)."""
    from pcids.models.ensemble import load_elastic_model

    return _records(load_elastic_model().predict(comps))


def predict_gfa(comps: list[Any]) -> list[dict[str, Any]]:
    """P(Dmax >= threshold), the verdict, Dmax with its ~68 % range, in_domain (what ``pcids gfa`` reports)."""
    from pcids.models.gfa import load_gfa_model

    m = load_gfa_model()
    p = m.predict_proba(comps)
    df = m.predict_dmax(comps)
    df.insert(0, "p_bulk_glass", p)
    df.insert(1, "bulk_glass", p >= m.decision_threshold_)
    df["in_domain"] = m.domain_check(comps)
    df["threshold_mm"] = float(m.threshold_mm)
    return _records(df)


def warm_up() -> None:
    """Load the shipped models once, before requests race to do it."""
    from pcids.models.ensemble import load_elastic_model
    from pcids.models.gfa import load_gfa_model
    from pcids.models.inverse import load_inverse_model

    load_elastic_model()
    load_gfa_model()
    load_inverse_model()
    import pcids.design  # noqa: F401
