"""The ranked candidates with the columns and number formats ``pcids design`` prints.

Plain text cells (no terminal markup) plus, per cell, the value it sorts by,
so the page's table can be sorted on numbers rather than on text.
"""

from __future__ import annotations

import math
from typing import Any

#: The CLI's short verdicts (``ok`` column).
OK_TEXT = {"meets target and GFA": "yes", "meets target, GFA check failed": "GFA no", "outside tolerance": "no"}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def design_table(result: Any) -> dict[str, list[Any]]:
    """``{"columns": [...], "rows": [[text, ...]], "sort": [[value, ...]]}`` for a DesignResult."""
    relative = bool(result.settings.get("relative", True))
    thr = result.settings.get("gfa_threshold_mm")
    columns = ["#", "composition", "G", "K", "E", "nu", "error", f"P(D>={thr:g})" if thr else "P(GFA)", "Dmax", "ok", "nearest known, L1"]
    rows, sort = [], []
    for r in result.candidates.to_dict(orient="records"):
        p, d = _num(r.get("p_gfa")), _num(r.get("dmax_mm"))
        rows.append(
            [
                str(r["rank"]),
                r["composition"] + ("" if r.get("in_domain", True) else "*"),
                f"{r['G']:.1f}±{r['G_std']:.1f}",
                f"{r['K']:.1f}±{r['K_std']:.1f}",
                f"{r['E']:.1f}",
                f"{r['nu']:.3f}",
                f"{100 * r['error']:.2f}%" if relative else f"{r['error']:.3g}",
                "-" if p is None else f"{p:.2f}",
                "-" if d is None else f"{d:.1f}",
                OK_TEXT.get(r["status"], r["status"]),
                f"{r['nearest_known']}, {r['nearest_L1']:.0f}",
            ]
        )
        sort.append(
            [
                int(r["rank"]), r["composition"], _num(r["G"]), _num(r["K"]), _num(r["E"]), _num(r["nu"]), _num(r["error"]),
                p, d, list(OK_TEXT).index(r["status"]) if r["status"] in OK_TEXT else 9, _num(r["nearest_L1"]),
            ]
        )
    return {"columns": columns, "rows": rows, "sort": sort}
