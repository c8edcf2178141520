"""What the data already know about a system: measured alloys that meet the targets, the nearest
measured alloy of each candidate, and the glass-forming alloys of the same or overlapping systems
(projected onto the design's elements) that the plausibility and the start points read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pcids.composition import PERIODIC_TABLE, Composition

#: An overlapping alloy counts when at least this share of it (at.%) is made of the design's elements.
MIN_SHARE = 0.75
#: Weight of an overlapping alloy: (its share of the design's elements) ** SHARE_POWER.
SHARE_POWER = 4.0


def amounts(data: pd.DataFrame, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(at.% of ``elements`` per row (n, m), at.% in other elements (n,)) from element columns
    when the frame has them (the bundled loaders do), else from its ``formula`` column."""
    cols = list(data.attrs.get("elements") or [])
    if cols and all(c in data.columns for c in cols):
        A = np.column_stack([data[e].to_numpy(dtype=float) if e in data.columns else np.zeros(len(data)) for e in elements])
        total = data[cols].to_numpy(dtype=float).sum(axis=1)
        return A, np.maximum(total - A.sum(axis=1), 0.0)
    A = np.zeros((len(data), len(elements)))
    out = np.zeros(len(data))
    col = {e: j for j, e in enumerate(elements)}
    for i, f in enumerate(data["formula"]):
        c = Composition.coerce(f)
        for e, a in zip(c.elements, c.fractions):
            if e in col:
                A[i, col[e]] = a
            else:
                out[i] += a
    return A, out


def _inside(A: np.ndarray, elements: Sequence[str], bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], slack: float) -> np.ndarray:
    ok = np.ones(len(A), bool)
    for j, e in enumerate(elements):
        if e in fixed:
            ok &= np.abs(A[:, j] - fixed[e]) <= slack
        elif e in bounds:
            lo, hi = bounds[e]
            ok &= (A[:, j] >= lo - slack) & (A[:, j] <= hi + slack)
    return ok


#: Quantities measured tables give: the moduli (the elastic data) and the temperatures (``load_temperatures``).
MEASURED_MODULI = ("G", "K", "E", "nu")
MEASURED_TEMPERATURES = ("Tg", "Tx", "Tl", "dTx", "Trg", "gamma")


def known_meeting_targets(
    data: pd.DataFrame, elements: Sequence[str], spec, tolerance: float,
    bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], h: float, temperatures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Measured alloys made only of ``elements`` (inside the bounds, fixed amounts within h/2)
    whose measured values of every target meet it within the tolerance, smallest error first.
    Moduli come from ``data``, temperatures from ``temperatures`` (default ``load_temperatures()``),
    joined on the canonical formula; a target no table measures (Dmax, cost, a user's) lists none."""
    names = list(spec.targets)
    temps = [n for n in names if n in MEASURED_TEMPERATURES]
    moduli = [n for n in names if n in MEASURED_MODULI]
    empty = pd.DataFrame(columns=["composition", "system", *elements, *MEASURED_MODULI, *temps, "error", "source"])
    if not names or len(temps) + len(moduli) < len(names):
        return empty
    frame = data
    if temps:
        from pcids.datasets import load_temperatures

        T = load_temperatures() if temperatures is None else temperatures
        if moduli:
            frame = data.merge(T[["formula", *temps]], on="formula", how="inner")
            frame.attrs = dict(data.attrs)
        else:
            frame = T.rename(columns={"sources": "source"})
            frame.attrs = dict(T.attrs)
    A, out = amounts(frame, elements)
    need = temps + ([t for t in moduli if t in ("G", "K")] or ["G", "K"] if moduli else [])
    ok = (out <= 1e-6) & _inside(A, elements, bounds, fixed, h / 2) & frame[need].notna().all(axis=1).to_numpy()
    sub = frame.loc[ok].copy()
    if sub.empty:
        return empty
    G, K = (sub[c].to_numpy(dtype=float) if c in sub else np.full(len(sub), np.nan) for c in ("G", "K"))
    err = spec.combine(spec.per_target(G, K, {n: sub[n].to_numpy(dtype=float) for n in temps}), len(sub))
    sub["error"] = err
    sub = sub[np.isfinite(err) & (err <= tolerance)].sort_values(["error", "formula"], kind="stable")
    A_known = pd.DataFrame(A[ok], columns=list(elements), index=frame.index[ok]).loc[sub.index]
    res = pd.concat([sub[["formula", "system"]].rename(columns={"formula": "composition"}), A_known], axis=1)
    for c in (*MEASURED_MODULI, *temps, "error", "source"):
        res[c] = sub[c] if c in sub.columns else np.nan
    return res.reset_index(drop=True)


def nearest_known(A: np.ndarray, elements: Sequence[str], data: pd.DataFrame) -> pd.DataFrame:
    """Nearest alloy of ``data`` by L1 distance (at.%, other elements counted in full), with its measured G, K."""
    D, outside = amounts(data, elements)
    dist = np.abs(D[None, :, :] - np.asarray(A, dtype=float)[:, None, :]).sum(axis=2) + outside[None, :]
    i = np.argmin(dist, axis=1)
    return pd.DataFrame(
        {
            "nearest_known": data["formula"].to_numpy()[i],
            "nearest_G": data["G"].to_numpy(dtype=float)[i],
            "nearest_K": data["K"].to_numpy(dtype=float)[i],
            "nearest_L1": dist[np.arange(len(A)), i],
        }
    )


def glass_reference(glass_data: pd.DataFrame, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Known glass formers of the same or overlapping systems, projected onto ``elements``.

    An alloy counts when at least two of its elements are among ``elements`` and
    they make up at least ``MIN_SHARE`` of it; it is renormalised to 100 at.% over
    them and weighted by share ** ``SHARE_POWER`` (an alloy of the system or of a
    sub-system weighs 1). Rows labelled crystalline (``gfa_class``) are left out.
    Returns (at.% (n, m), weights (n,), formulas).
    """
    data = glass_data
    if "gfa_class" in data.columns:
        data = data[data["gfa_class"].fillna("") != "crystalline"]
    A, out = amounts(data, elements)
    return reference_from_amounts(A, out, data["formula"].to_numpy())


def reference_from_amounts(A: np.ndarray, out: np.ndarray, formulas: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`glass_reference` from the alloys' at.% in the design's elements (n, m) and in others (n,):
    the arrays a screen keeps per process, so it skips the frame per system."""
    inside = A.sum(axis=1)
    share = inside / np.maximum(inside + out, 1e-12)
    keep = ((A > 0).sum(axis=1) >= 2) & (share >= MIN_SHARE)
    R = 100.0 * A[keep] / inside[keep, None]
    w = share[keep] ** SHARE_POWER
    forms = np.asarray(formulas)[keep].tolist()
    # the same composition from two tables counts once
    key = np.round(R, 6)
    _, first = np.unique(key, axis=0, return_index=True)
    first = np.sort(first)
    return R[first], w[first], [forms[i] for i in first]


def default_glass_data() -> pd.DataFrame:
    """The bundled glass formers: the GFA table's glasses and the elastic table (all glasses)."""
    from pcids.datasets import load_elastic, load_gfa

    g, e = load_gfa(), load_elastic()
    els = [c for c in PERIODIC_TABLE if c in g.columns or c in e.columns]
    frame = pd.concat([g[["formula", "gfa_class", *[c for c in els if c in g.columns]]], e[["formula", *[c for c in els if c in e.columns]]]], ignore_index=True)
    frame[els] = frame[els].fillna(0.0)
    frame.attrs["elements"] = els
    return frame
