"""Characteristic temperatures Tg, Tx, Tl: reading, cleaning and merging.

Built from Xiong's ``CTT.csv`` and the DMREF rows that give a temperature;
the rules are in :func:`pcids.datasets.load_temperatures` and the measurement
behind the thresholds in ``docs/decisions.md``. Lives apart from
``pcids.datasets`` only to keep that module short; use it through there.
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pcids.composition import Composition

#: The three measured temperatures, in the order a record must satisfy (K).
TEMPERATURES = ("Tg", "Tx", "Tl")
#: Plausible range of any of them (K): the lowest glass transition known is
#: near 300 K (Ce-, Sr-, Ca-based glasses), the highest liquidus of a glass
#: former below 2,000 K; outside this range a value is a typing error.
MIN_PLAUSIBLE_T_K = 250.0
MAX_PLAUSIBLE_T_K = 2500.0
#: Highest plausible reduced glass transition Tg / Tl: the best glass formers
#: known (Pd-Cu-Ni-P) reach about 0.7; a record above this has a wrong Tg or Tl.
MAX_PLAUSIBLE_TRG = 0.8
#: Distinct values of one temperature of one alloy conflict when they span
#: more than this (K); that temperature of that alloy is then set aside.
CONFLICT_SPAN_K = 50.0
#: An alloy whose every temperature lies more than ``CELSIUS_GAP_K`` below the median of its
#: neighbours (alloys within ``CELSIUS_RADIUS`` at.%, L1; at least ``CELSIUS_MIN_NEIGHBOURS``) and
#: within ``CELSIUS_MATCH_K`` of it once 273.15 K is added was written in degrees Celsius.
CELSIUS_RADIUS = 8.0
CELSIUS_MIN_NEIGHBOURS = 5
CELSIUS_GAP_K = 200.0
CELSIUS_MATCH_K = 40.0

_COLUMNS = {
    "xiong2020_characteristic_temperatures.csv": ("Alloy", "Tg", "Tx", "Tl"),
    "dmref_v5_characteristic_temperatures.csv": ("Composition", "Tg_[K]", "Tx_[K]", "Tl_[K]"),
}


@dataclass
class _Record:
    source: str
    row: int
    raw: str
    comp: Composition
    values: dict[str, float] = field(default_factory=dict)


def decimal_shift(values: dict[str, float]) -> tuple[dict[str, float], list[str], str, str]:
    """Fix one-decade typos in a record; return (values, corrected names, reason, detail).

    A value above :data:`MAX_PLAUSIBLE_T_K` whose tenth is plausible is taken as
    a shifted decimal point (``6502`` for 650.2) when, so corrected, the record
    is ordered Tg < Tx < Tl. ``reason`` is "" for a usable record, else
    "implausible value" (out of range, no shift explains it) or "inconsistent
    temperatures" (not ordered, or Tg / Tl above 0.8), with ``detail`` saying which values.
    """
    out = dict(values)
    corrected = []
    for name, v in values.items():
        if v > MAX_PLAUSIBLE_T_K and MIN_PLAUSIBLE_T_K <= v / 10 <= MAX_PLAUSIBLE_T_K:
            out[name] = v / 10
            corrected.append(name)
    order_problem = _order_problem(out)
    if corrected and order_problem:  # the shift does not make it consistent: report the values as written
        out, corrected = dict(values), []
    for name, v in out.items():
        if not MIN_PLAUSIBLE_T_K <= v <= MAX_PLAUSIBLE_T_K:
            return out, [], "implausible value", f"{name} = {v:g} K outside [{MIN_PLAUSIBLE_T_K:g}, {MAX_PLAUSIBLE_T_K:g}] K"
    problem = _order_problem(out)
    return out, corrected, ("inconsistent temperatures" if problem else ""), problem


def _order_problem(values: dict[str, float]) -> str:
    given = [(n, values[n]) for n in TEMPERATURES if n in values]
    for (a, va), (b, vb) in zip(given, given[1:]):
        if not va < vb:
            return f"{a} = {va:g} K is not below {b} = {vb:g} K (needs Tg < Tx < Tl)"
    if "Tg" in values and "Tl" in values and values["Tg"] / values["Tl"] > MAX_PLAUSIBLE_TRG:
        return (
            f"Tg / Tl = {values['Tg']:g} / {values['Tl']:g} = {values['Tg'] / values['Tl']:.3f} above {MAX_PLAUSIBLE_TRG:g} "
            "(the best glass formers reach about 0.7)"
        )
    return ""


def _celsius_read_as_kelvin(df: pd.DataFrame, groups: dict[str, list[_Record]], corrections: list[dict[str, Any]]) -> pd.DataFrame:
    """Alloys written in degrees Celsius (the rule at :data:`CELSIUS_RADIUS`) get 273.15 K added to every
    temperature, their derived ones recomputed and each record's values listed as corrections."""
    import numpy as np
    from scipy.spatial.distance import cdist

    if df.empty:
        return df
    A = df[list(df.attrs["elements"])].to_numpy(dtype=float)
    D = cdist(A, A, "cityblock")
    np.fill_diagonal(D, np.inf)
    T = {n: df[n].to_numpy(dtype=float) for n in TEMPERATURES}
    hits = []
    for i in range(len(df)):
        near = np.flatnonzero(D[i] <= CELSIUS_RADIUS)
        if len(near) < CELSIUS_MIN_NEIGHBOURS:
            continue
        checked = []
        for n in TEMPERATURES:
            ref = T[n][near][np.isfinite(T[n][near])]
            if math.isfinite(T[n][i]) and len(ref) >= CELSIUS_MIN_NEIGHBOURS:
                med = float(np.median(ref))
                checked.append(med - T[n][i] > CELSIUS_GAP_K and abs(T[n][i] + 273.15 - med) <= CELSIUS_MATCH_K)
        if len(checked) >= 2 and all(checked):
            hits.append(i)
    df = df.copy()
    for i in hits:
        key = df["formula"].iloc[i]
        for r in groups[key]:
            for n, v in r.values.items():
                corrections.append(dict(source=r.source, row=r.row, raw_formula=r.raw, column=n, value=v, corrected=v + 273.15,
                                        detail=f"{n} = {v:g} read as {v + 273.15:g} K (degrees Celsius: every temperature of the alloy "
                                               f"~273 K below its neighbours within {CELSIUS_RADIUS:g} at.%)"))
        for n in TEMPERATURES:
            df.iloc[i, df.columns.get_loc(n)] = df[n].iloc[i] + 273.15
    if hits:
        df["dTx"] = df["Tx"] - df["Tg"]
        df["Trg"] = df["Tg"] / df["Tl"]
        df["gamma"] = df["Tx"] / (df["Tg"] + df["Tl"])
    return df


def _fmt(v: float) -> str:
    return f"{v:.6g}"


@functools.lru_cache(maxsize=None)
def build(files: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(frame, set aside, merge log, info) of the temperature dataset."""
    from pcids import datasets as ds

    aside: dict[tuple[str, int], dict[str, Any]] = {}
    corrections: list[dict[str, Any]] = []
    groups: dict[str, list[_Record]] = {}
    rows_read: dict[str, int] = {}
    n_zero = 0

    def put_aside(source: str, row: int, raw: str, reason: str, detail: str) -> None:
        key = (source, row)
        if key in aside:  # one row, several conflicting temperatures: one entry naming them all
            aside[key]["detail"] += "; " + detail
        else:
            aside[key] = dict(source=source, row=row, raw_formula=raw, reason=reason, detail=detail)

    for filename in files:
        source = filename.removesuffix(".csv")
        formula_col, *value_cols = _COLUMNS[filename]
        rows = ds._read_rows(filename)
        rows_read[source] = len(rows)
        for i, row in enumerate(rows):
            raw = row[formula_col]
            given = {n: ds._float(row[c]) for n, c in zip(TEMPERATURES, value_cols)}
            given = {n: v for n, v in given.items() if not math.isnan(v)}
            if not given:
                put_aside(source, i, raw, "missing value", "none of Tg, Tx, Tl given")
                continue
            p = ds._parse(raw)
            if p.composition is None:
                put_aside(source, i, raw, p.reason, p.detail)
                continue
            values, corrected, reason, detail = decimal_shift(given)
            if reason:
                put_aside(source, i, raw, reason, detail)
                continue
            for name in corrected:
                corrections.append(
                    dict(
                        source=source,
                        row=i,
                        raw_formula=raw,
                        column=name,
                        value=given[name],
                        corrected=values[name],
                        detail=f"{name} = {given[name]:g} K read as {values[name]:g} K (decimal point shifted one place)",
                    )
                )
            n_zero += p.zero_terms_removed
            groups.setdefault(p.composition.formula, []).append(_Record(source, i, raw, p.composition, values))

    out, comps, log = [], [], []
    n_conflicts = {n: 0 for n in TEMPERATURES}
    n_disordered = 0
    for key, recs in groups.items():
        merged: dict[str, float] = {}
        spans: list[str] = []
        for name in TEMPERATURES:
            distinct = sorted({(r.source, r.values[name]) for r in recs if name in r.values})
            if not distinct:
                merged[name] = math.nan
                continue
            vals = [v for _, v in distinct]
            span = max(vals) - min(vals)
            if span > CONFLICT_SPAN_K:
                n_conflicts[name] += 1
                merged[name] = math.nan
                text = f"{name} values {', '.join(_fmt(v) for v in sorted(set(vals)))} K span {span:g} K > {CONFLICT_SPAN_K:g} K"
                spans.append(text)
                for r in recs:
                    if name in r.values:
                        put_aside(r.source, r.row, r.raw, "conflicting values", f"{text}: this alloy's {name} is not used")
                continue
            merged[name] = float(statistics.median(vals))
        problem = _order_problem({n: v for n, v in merged.items() if not math.isnan(v)})
        if problem:  # medians of different records out of order: too uncertain to keep
            n_disordered += 1
            for r in recs:
                put_aside(r.source, r.row, r.raw, "inconsistent temperatures", f"merged over {len(recs)} records: {problem}")
            continue
        if all(math.isnan(v) for v in merged.values()):
            continue  # every temperature conflicted; all its records are listed as set aside
        comp = recs[0].comp
        tg, tx, tl = merged["Tg"], merged["Tx"], merged["Tl"]
        sources = sorted({r.source for r in recs})
        out.append(
            dict(
                formula=key,
                formula_as_written=comp.formula_as_written,
                Tg=tg,
                Tx=tx,
                Tl=tl,
                dTx=tx - tg,
                Trg=tg / tl,
                gamma=tx / (tg + tl),
                n_records=len(recs),
                conflict=",".join(n for n in TEMPERATURES if any(s.startswith(n + " ") for s in spans)),
                n_elements=comp.n_elements,
                system=comp.system,
                sources=",".join(sources),
            )
        )
        comps.append(comp)
        if len(recs) > 1:
            log.append(
                dict(
                    formula=key,
                    n_records=len(recs),
                    rows=[f"{r.source}:{r.row}" for r in recs],
                    raw_formulas=sorted({r.raw for r in recs}),
                    values="; ".join(
                        f"{n} {sorted({r.values[n] for r in recs if n in r.values})}" for n in TEMPERATURES
                    ),
                    result=", ".join(f"{n} {_fmt(merged[n])}" for n in TEMPERATURES if not math.isnan(merged[n])),
                    rule=f"median of distinct values per source; a span > {CONFLICT_SPAN_K:g} K sets that temperature aside",
                    conflict=bool(spans),
                )
            )
    df = ds._with_elements(pd.DataFrame(out), comps)
    df = _celsius_read_as_kelvin(df, groups, corrections)
    aside_rows = sorted(aside.values(), key=lambda r: (files.index(r["source"] + ".csv"), r["row"]))
    info = dict(
        rows_read=rows_read,
        zero_terms_removed=n_zero,
        corrections=pd.DataFrame(
            corrections, columns=["source", "row", "raw_formula", "column", "value", "corrected", "detail"]
        ),
        conflicts=n_conflicts,
        disordered_after_merge=n_disordered,
    )
    return df, ds._set_aside_frame(aside_rows), ds._log_frame(log), info
