"""Bundled measurements of metallic glasses, cleaned, merged and reported.

Datasets, each one row per distinct alloy (distinct = same canonical
composition, :attr:`pcids.composition.Composition.formula`):

``load_elastic()``
    Xiong et al. 2020: shear modulus G and bulk modulus K (GPa), with the
    derived Young's modulus ``E = 9KG/(3K+G)`` and Poisson's ratio
    ``nu = (3K-2G)/(2(3K+G))``. A row missing one modulus is kept for the
    other (E and nu are then NaN). Duplicates (none in the bundled copy) would
    be merged by the mean of each modulus.

``load_gfa()``
    Glass-forming ability merged over four files: Xiong's Dmax file, Xiong's
    GFA classes, Ward et al. 2018 and the UW-Madison DMREF compilation:
    ``dmax_mm`` (median of the distinct measured diameters per source),
    ``gfa_class`` (majority vote, ties to the glassier class), ``conflict``,
    ``n_sources``, ``sources``.

``load_temperatures()``
    Characteristic temperatures Tg, Tx, Tl (K) from Xiong's file and DMREF,
    with the derived dTx, Trg and gamma (rules in its docstring).

Formulas are parsed with :func:`pcids.composition.parse_formula` (zero terms
such as ``Ag0Cu32Fe68`` are dropped); rows whose amounts do not describe a
whole alloy, and records that say nothing or something implausible about GFA,
are set aside with a reason. Nothing is dropped silently: :func:`set_aside`
lists every row not used, :func:`merge_log` every alloy built from more than
one record. The reading and merge rules and why: docs/decisions.md, "Data: ...".
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pandas as pd

from pcids.composition import PERIODIC_TABLE, Composition, parse_formula
from pcids.errors import FormulaError, PcidsError
from pcids.elastic import poisson_ratio, youngs_modulus

__all__ = [
    "DATASETS",
    "UnknownDatasetError",
    "data_hash",
    "load_elastic",
    "corrections",
    "load_gfa",
    "load_temperatures",
    "merge_log",
    "set_aside",
    "summary",
]


class UnknownDatasetError(PcidsError, ValueError):
    """A dataset name pcids does not know."""


#: dataset name -> bundled files (in ``pcids/data``) it is built from.
DATASETS: dict[str, tuple[str, ...]] = {
    "elastic": ("xiong2020_elastic_moduli.csv",),
    "gfa": (
        "xiong2020_dmax.csv",
        "xiong2020_gfa.csv",
        "ward2018_metallic_glasses.csv",
        "dmref_v5_metallic_glasses.csv",
    ),
    "temperatures": (
        "xiong2020_characteristic_temperatures.csv",
        "dmref_v5_characteristic_temperatures.csv",
    ),
}

CLASSES = ("bulk glass", "ribbon glass", "crystalline")
_GLASSINESS = {"bulk glass": 2, "ribbon glass": 1, "crystalline": 0}

#: Plausible critical casting diameters (mm): the record is about 80 mm, and a
#: cast rod thinner than a melt-spun ribbon (20-50 um) is a unit or typing error.
MIN_PLAUSIBLE_DMAX_MM = 0.05
MAX_PLAUSIBLE_DMAX_MM = 100.0
#: Two diameters conflict when they differ by more than both of these.
DMAX_CONFLICT_ABS_MM = 1.0
DMAX_CONFLICT_RATIO = 1.5

#: Known questions about single elastic rows (shared data README); kept, flagged.
_ELASTIC_NOTES = {
    "Pd40Cu40P20": "possibly a typo of Pd40Ni40P20 (same G and K in an older copy); kept",
    "Mg65Cu25Tb10": "some copies read G 19.4/19.6, K 44.7/45.8; the bundled values are used",
}

#: What each set-aside reason means (shown by ``pcids data``).
REASONS: dict[str, str] = {
    "unparseable formula": "the parser rejects the formula (its message is in `detail`)",
    "impossible sum": "amounts are neither at.% summing to 100 +/- 0.5, fractions summing to 1, nor molar ratios",
    "implausible value": "a value outside physical bounds (Dmax outside [0.05, 100] mm, non-positive modulus, nu < 0, "
    "a temperature outside [250, 2500] K that no decimal shift explains)",
    "missing value": "no usable target in the row",
    "inconsistent temperatures": "a record (or the merged values of an alloy) not ordered Tg < Tx < Tl, or Tg / Tl > 0.8",
    "conflicting values": "one alloy's values of a temperature span more than 50 K; that temperature of that alloy is not used",
    "not melt-quenched": "thin film / powder made by deposition or mechanical alloying: says nothing about GFA",
    "ambiguous label": "one record lists several outcomes (['AM' 'AC']) or an unknown label",
    "crystalline cast of unknown size": "a non-amorphous cast rod of unknown size only bounds Dmax from above",
    "no GFA information": "DMREF row with neither an amorphous label nor a Dmax (temperatures only)",
}

_REASON_ORDER = tuple(REASONS)


# ---------------------------------------------------------------------------
# files


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _read_bytes(filename: str) -> bytes:
    return resources.files("pcids").joinpath("data", filename).read_bytes()


def _read_rows(filename: str) -> list[dict[str, str]]:
    text = _read_bytes(filename).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def data_hash(name: str) -> str:
    """sha256 over the bundled source file(s) of a dataset (names and bytes)."""
    _check_name(name)
    h = hashlib.sha256()
    for filename in DATASETS[name]:
        h.update(filename.encode())
        h.update(b"\0")
        h.update(_read_bytes(filename))
    return h.hexdigest()


# ---------------------------------------------------------------------------
# formulas


@dataclass(frozen=True)
class _Parsed:
    composition: Composition | None
    reason: str = ""
    detail: str = ""
    zero_terms_removed: bool = False


def _float(text: str) -> float:
    text = (text or "").strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


@functools.lru_cache(maxsize=None)
def _parse(raw: str) -> _Parsed:
    """Parse one written formula and check that its amounts describe a whole."""
    try:
        parsed = parse_formula(raw.strip())
    except FormulaError as exc:
        return _Parsed(None, "unparseable formula", str(exc).splitlines()[0])
    problem = parsed.sum_problem()
    if problem is not None:
        return _Parsed(None, "impossible sum", problem)
    return _Parsed(Composition.from_dict(parsed.amounts), zero_terms_removed=bool(parsed.zero_terms))


def _element_columns(compositions: list[Composition]) -> list[str]:
    present = {el for c in compositions for el in c.elements}
    return [el for el in PERIODIC_TABLE if el in present]


def _with_elements(df: pd.DataFrame, compositions: list[Composition]) -> pd.DataFrame:
    elements = _element_columns(compositions)
    index = {el: i for i, el in enumerate(elements)}
    import numpy as np

    matrix = np.zeros((len(compositions), len(elements)))
    for row, comp in enumerate(compositions):
        for el, amount in comp.items():
            matrix[row, index[el]] = amount
    out = pd.concat([df.reset_index(drop=True), pd.DataFrame(matrix, columns=elements)], axis=1)
    out.attrs["elements"] = elements
    return out


def _set_aside_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["source", "row", "raw_formula", "reason", "detail"]
    df = pd.DataFrame(rows, columns=cols)
    df["row"] = df["row"].astype(int)
    return df


# ---------------------------------------------------------------------------
# elastic


@functools.lru_cache(maxsize=None)
def _elastic() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    filename = DATASETS["elastic"][0]
    source = filename.removesuffix(".csv")
    aside: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    n_zero = 0
    rows = _read_rows(filename)
    for i, row in enumerate(rows):
        raw = row["Alloy"]
        p = _parse(raw)
        if p.composition is None:
            aside.append(dict(source=source, row=i, raw_formula=raw, reason=p.reason, detail=p.detail))
            continue
        n_zero += p.zero_terms_removed
        g, k = _float(row["G"]), _float(row["K"])
        problems = []
        if not (math.isnan(g) or g > 0):
            problems.append(f"G = {g:g} GPa is not positive")
        if not (math.isnan(k) or k > 0):
            problems.append(f"K = {k:g} GPa is not positive")
        if not problems and not (math.isnan(g) or math.isnan(k)) and not (3 * k > 2 * g):
            problems.append(f"K = {k:g} < 2G/3 = {2 * g / 3:g} GPa gives nu < 0")
        if problems:
            aside.append(dict(source=source, row=i, raw_formula=raw, reason="implausible value", detail="; ".join(problems)))
            continue
        if math.isnan(g) and math.isnan(k):
            aside.append(dict(source=source, row=i, raw_formula=raw, reason="missing value", detail="neither G nor K given"))
            continue
        key = p.composition.formula
        if key not in groups:
            groups[key] = dict(comp=p.composition, G=[], K=[], raws=[], rows=[])
            order.append(key)
        grp = groups[key]
        grp["raws"].append(raw)
        grp["rows"].append(i)
        if not math.isnan(g):
            grp["G"].append(g)
        if not math.isnan(k):
            grp["K"].append(k)

    records, comps, log = [], [], []
    for key in order:
        grp = groups[key]
        comp: Composition = grp["comp"]
        g = statistics.fmean(grp["G"]) if grp["G"] else math.nan
        k = statistics.fmean(grp["K"]) if grp["K"] else math.nan
        e, nu = float(youngs_modulus(g, k)), float(poisson_ratio(g, k))
        note = _ELASTIC_NOTES.get(grp["raws"][0].strip(), "")
        records.append(
            dict(
                formula=key,
                formula_as_written=comp.formula_as_written,
                G=g,
                K=k,
                E=e,
                nu=nu,
                n_elements=comp.n_elements,
                system=comp.system,
                source=source,
                note=note,
            )
        )
        comps.append(comp)
        if len(grp["rows"]) > 1:
            log.append(
                dict(
                    formula=key,
                    n_records=len(grp["rows"]),
                    rows=grp["rows"],
                    raw_formulas=grp["raws"],
                    values=f"G {grp['G']}, K {grp['K']}",
                    result=f"G {g:g}, K {k:g}",
                    rule="mean of each modulus",
                    conflict=False,
                )
            )
    df = _with_elements(pd.DataFrame(records), comps)
    info = dict(rows_read=len(rows), zero_terms_removed=n_zero)
    return df, _set_aside_frame(aside), _log_frame(log), info


def _log_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["formula", "n_records", "rows", "raw_formulas", "values", "result", "rule", "conflict"]
    return pd.DataFrame(rows, columns=cols)


def load_elastic() -> pd.DataFrame:
    """G, K, E, nu per distinct alloy (Xiong 2020), with at.% per element.

    Columns: ``formula`` (canonical), ``formula_as_written`` (first seen,
    base element first), ``G``, ``K``, ``E``, ``nu``, ``n_elements``,
    ``system``, ``source``, ``note`` (flags from the data README, else ""),
    then one at.% column per element (names in ``df.attrs["elements"]``).
    """
    df = _elastic()[0]
    out = df.copy()
    out.attrs["elements"] = list(df.attrs["elements"])
    return out


# ---------------------------------------------------------------------------
# glass-forming ability


@dataclass
class _Record:
    source: str
    row: int
    raw: str
    comp: Composition
    vote: str  # one of CLASSES, or "glass" (DMREF lower bound)
    dmax: float = math.nan


_CAST_TYPES = {"Rod", "Wedge", "[Rod, Wedge]"}
_NOT_MELT_QUENCHED_TYPES = {"Thin Film", "Powder"}
_NON_AMORPHOUS = {"CR", "AC", "QC", "OT"}


def _dmref_evidence(row: dict[str, str]) -> tuple[str | None, float, str, str]:
    """(vote, diameter, set-aside reason, detail) of one DMREF row."""
    label = (row.get("Is_Amorphous?") or "").strip()
    casting = (row.get("Casting") or "").strip()
    form = (row.get("Type") or "").strip()
    dmax = _float(row.get("Dmax_[mm]", ""))
    if "Deposition" in casting or "Mechanical" in casting or (not casting and form in _NOT_MELT_QUENCHED_TYPES):
        return (
            None,
            math.nan,
            "not melt-quenched",
            f"casting {casting or 'not given'}, form {form or 'not given'}: says nothing about GFA",
        )
    if label.startswith("["):
        return None, math.nan, "ambiguous label", f"several outcomes in one record: {label}"
    if not math.isnan(dmax):
        if label in ("", "AM"):
            return "bulk glass", dmax, "", ""
        return None, math.nan, "ambiguous label", f"Dmax {dmax:g} mm with label {label}"
    if label == "AM":
        if form in _CAST_TYPES or casting.startswith("Melt Cast"):
            return "bulk glass", math.nan, "", ""
        return "glass", math.nan, "", ""
    if label in _NON_AMORPHOUS:
        if form in _CAST_TYPES or casting.startswith("Melt Cast"):
            return (
                None,
                math.nan,
                "crystalline cast of unknown size",
                f"{label} {form or casting}: bounds Dmax from above only",
            )
        return "crystalline", math.nan, "", ""
    if not label:
        return None, math.nan, "no GFA information", "neither an amorphous label nor a Dmax (temperatures only)"
    return None, math.nan, "ambiguous label", f"unknown label {label!r}"


def _gfa_rows(filename: str, row: dict[str, str]) -> tuple[str, str | None, float, str, str]:
    """(raw formula, vote, diameter, reason, detail) of one row of any GFA file."""
    if filename == "xiong2020_dmax.csv":
        raw, v = row["Alloy Formula"], _float(row["Dmax"])
        if math.isnan(v) or v < 0:
            return raw, None, math.nan, "missing value", f"Dmax {row['Dmax']!r}"
        if v == 0:
            return raw, "crystalline", math.nan, "", ""
        if v == 0.1:  # ribbon placeholder
            return raw, "ribbon glass", math.nan, "", ""
        return raw, "bulk glass", v, "", ""
    if filename == "xiong2020_gfa.csv":
        raw, label = row["Alloy"], (row["GFA"] or "").strip()
        vote = {"BMG": "bulk glass", "RMG": "ribbon glass", "CRA": "crystalline"}.get(label)
        if vote is None:
            return raw, None, math.nan, "missing value", f"GFA class {label!r}"
        return raw, vote, math.nan, "", ""
    if filename == "ward2018_metallic_glasses.csv":
        raw, label, v = row["composition"], (row["gfa_type"] or "").strip(), _float(row["D_max"])
        if label == "BMG":
            return raw, "bulk glass", v, "", ""  # v is NaN where no diameter was given
        if label == "Ribbon":  # D_max 0.2 is the ribbon placeholder
            return raw, "ribbon glass", math.nan, "", ""
        if not label:
            return raw, "crystalline", math.nan, "", ""
        return raw, None, math.nan, "ambiguous label", f"gfa_type {label!r}"
    if filename == "dmref_v5_metallic_glasses.csv":
        vote, v, reason, detail = _dmref_evidence(row)
        return row["Composition"], vote, v, reason, detail
    raise AssertionError(filename)


def _median_distinct(records: list[_Record]) -> float:
    values = sorted({(r.source, r.dmax) for r in records if not math.isnan(r.dmax)})
    if not values:
        return math.nan
    return float(statistics.median(v for _, v in values))


def _dmax_conflict(values: list[float]) -> bool:
    if len(values) < 2:
        return False
    lo, hi = min(values), max(values)
    return hi - lo > DMAX_CONFLICT_ABS_MM and hi > DMAX_CONFLICT_RATIO * lo


@functools.lru_cache(maxsize=None)
def _gfa() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    aside: list[dict[str, Any]] = []
    groups: dict[str, list[_Record]] = {}
    rows_read: dict[str, int] = {}
    n_zero = 0
    placeholders = 0
    for filename in DATASETS["gfa"]:
        source = filename.removesuffix(".csv")
        rows = _read_rows(filename)
        rows_read[source] = len(rows)
        for i, row in enumerate(rows):
            raw, vote, dmax, reason, detail = _gfa_rows(filename, row)
            if vote is None:
                aside.append(dict(source=source, row=i, raw_formula=raw, reason=reason, detail=detail))
                continue
            p = _parse(raw)
            if p.composition is None:
                aside.append(dict(source=source, row=i, raw_formula=raw, reason=p.reason, detail=p.detail))
                continue
            if not math.isnan(dmax) and not (MIN_PLAUSIBLE_DMAX_MM <= dmax <= MAX_PLAUSIBLE_DMAX_MM):
                aside.append(
                    dict(
                        source=source,
                        row=i,
                        raw_formula=raw,
                        reason="implausible value",
                        detail=f"Dmax {dmax:g} mm outside [{MIN_PLAUSIBLE_DMAX_MM:g}, {MAX_PLAUSIBLE_DMAX_MM:g}] mm "
                        "(the largest glass ever cast is about 80 mm; a rod cannot be thinner than a ribbon)",
                    )
                )
                continue
            if vote == "ribbon glass" and source in ("xiong2020_dmax", "ward2018_metallic_glasses"):
                placeholders += 1  # Xiong 0.1 / Ward 0.2: not a diameter
            n_zero += p.zero_terms_removed
            groups.setdefault(p.composition.formula, []).append(_Record(source, i, raw, p.composition, vote, dmax))

    out, comps, log = [], [], []
    n_class_conflicts = n_dmax_conflicts = 0
    for key, recs in groups.items():
        votes = Counter(r.vote for r in recs)
        lower_bound = votes.pop("glass", 0)
        if lower_bound and "bulk glass" not in votes:
            votes["ribbon glass"] += lower_bound
        gfa_class = max(votes, key=lambda c: (votes[c], _GLASSINESS[c]))
        measured = [r.dmax for r in recs if not math.isnan(r.dmax)]
        class_conflict = len(votes) > 1
        dmax_conflict = _dmax_conflict(measured)
        conflict = class_conflict or dmax_conflict
        n_class_conflicts += class_conflict
        n_dmax_conflicts += dmax_conflict
        dmax = _median_distinct(recs)
        sources = sorted({r.source for r in recs})
        comp = recs[0].comp
        out.append(
            dict(
                formula=key,
                formula_as_written=comp.formula_as_written,
                dmax_mm=dmax,
                gfa_class=gfa_class,
                n_sources=len(recs),
                conflict=conflict,
                n_dmax=len(measured),
                n_elements=comp.n_elements,
                system=comp.system,
                sources=",".join(sources),
            )
        )
        comps.append(comp)
        if len(recs) > 1:
            vote_text = ", ".join(f"{c} x{n}" for c, n in sorted(votes.items(), key=lambda t: -t[1]))
            if lower_bound:
                vote_text += f" (+{lower_bound} DMREF 'glass' lower bound{'s' if lower_bound > 1 else ''})"
            log.append(
                dict(
                    formula=key,
                    n_records=len(recs),
                    rows=[f"{r.source}:{r.row}" for r in recs],
                    raw_formulas=sorted({r.raw for r in recs}),
                    values=f"votes: {vote_text}; Dmax: {sorted(measured) if measured else 'none measured'}",
                    result=f"{gfa_class}, Dmax {dmax:g} mm" if measured else gfa_class,
                    rule="majority vote (ties to the glassier class); Dmax = median of distinct values per source",
                    conflict=conflict,
                )
            )
    df = _with_elements(pd.DataFrame(out), comps)
    df["conflict"] = df["conflict"].astype(bool)
    info = dict(
        rows_read=rows_read,
        zero_terms_removed=n_zero,
        ribbon_placeholders_ignored=placeholders,
        class_conflicts=n_class_conflicts,
        dmax_conflicts=n_dmax_conflicts,
    )
    return df, _set_aside_frame(aside), _log_frame(log), info


def load_gfa() -> pd.DataFrame:
    """Glass-forming ability per distinct alloy, merged over four sources.

    Columns: ``formula``, ``formula_as_written``, ``dmax_mm`` (median of the
    measured diameters, NaN if none), ``gfa_class`` ("bulk glass", "ribbon
    glass", "crystalline"), ``n_sources`` (records merged), ``conflict``,
    ``n_dmax`` (records with a measured diameter), ``n_elements``,
    ``system``, ``sources``, then at.% per element (``df.attrs["elements"]``).
    The merge rules are in the module docstring.
    """
    df = _gfa()[0]
    out = df.copy()
    out.attrs["elements"] = list(df.attrs["elements"])
    return out


# ---------------------------------------------------------------------------
# reports


# ---------------------------------------------------------------------------
# characteristic temperatures


def _temperatures() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    from pcids import _temperature_data

    return _temperature_data.build(DATASETS["temperatures"])


def load_temperatures() -> pd.DataFrame:
    """Tg, Tx, Tl (K) per distinct alloy, with dTx, Trg and gamma.

    Columns: ``formula``, ``formula_as_written``, ``Tg``, ``Tx``, ``Tl``
    (NaN where not measured or set aside), ``dTx = Tx - Tg``,
    ``Trg = Tg / Tl``, ``gamma = Tx / (Tg + Tl)`` (NaN unless both sides are
    known), ``n_records``, ``conflict`` (names of the temperatures set aside
    for conflicting, e.g. "Tl", else ""), ``n_elements``, ``system``,
    ``sources``, then at.% per element (``df.attrs["elements"]``).

    Cleaning, per record (one row of either file):

    * a value above 2500 K whose tenth is plausible is a shifted decimal point
      and is divided by 10 *if* that makes the record ordered; each such
      correction is listed by :func:`corrections` (DMREF Al7.5Cu17.5Ni10Zr65
      Tg 6502 -> 650.2; Cu27Ni10P20Pd43 Tg 5850.5, Tx 7160.5 -> 585.05, 716.05;
      La16.15Mg60Ni23.6Si0.25 Tl 8263 -> 826.3);
    * any other value outside [250, 2500] K: set aside, "implausible value";
    * a record not ordered Tg < Tx < Tl (on the values it gives): set aside,
      "inconsistent temperatures" (e.g. Tg = Tx, or a liquidus below Tg); so is
      one with Tg / Tl above 0.8 (the best glass formers reach about 0.7).

    After merging, an alloy whose every temperature lies more than 200 K below
    the median of its neighbours within 8 at.% (L1, at least 5 of them) and
    within 40 K of it once 273.15 K is added was written in degrees Celsius:
    273.15 K is added and each value listed by :func:`corrections` (DMREF's
    Zr48Cu47.5Al4X0.5 series, 7 alloys, e.g. Tg 416 -> 689.15 K).

    Merging, per canonical composition and per temperature: the median of
    the distinct values of each source file (DMREF repeats one literature
    value once per compiler, which must not outvote the other file). When
    those values span more than 50 K the temperature is set aside for that
    alloy ("conflicting values"; its records are listed), the others kept.
    An alloy whose merged values are out of order is set aside whole.
    """
    df = _temperatures()[0]
    out = df.copy()
    out.attrs["elements"] = list(df.attrs["elements"])
    return out


def corrections(name: str) -> pd.DataFrame:
    """Every value the cleaning changed (not dropped) for dataset ``name``.

    Columns: ``source``, ``row``, ``raw_formula``, ``column``, ``value`` (as
    written), ``corrected``, ``detail``. Only the temperatures correct
    values (decimal shifts); the other datasets return an empty frame.
    """
    info = _parts(name)[3]
    empty = pd.DataFrame(columns=["source", "row", "raw_formula", "column", "value", "corrected", "detail"])
    return info.get("corrections", empty).copy()


def _parts(name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    _check_name(name)
    return {"elastic": _elastic, "gfa": _gfa, "temperatures": _temperatures}[name]()


def set_aside(name: str) -> pd.DataFrame:
    """Every source row not used for dataset ``name``, with the reason.

    Columns: ``source`` (file stem), ``row`` (0-based data row; file line =
    row + 2), ``raw_formula``, ``reason`` (category), ``detail``.
    """
    return _parts(name)[1].copy()


def merge_log(name: str) -> pd.DataFrame:
    """Every alloy built from more than one record, with values and result.

    Columns: ``formula``, ``n_records``, ``rows`` (source:row), ``raw_formulas``,
    ``values`` (votes and measured diameters), ``result``, ``rule``,
    ``conflict``.
    """
    return _parts(name)[2].copy()


def _range(series: pd.Series) -> list[float] | None:
    s = series.dropna()
    if s.empty:
        return None
    return [round(float(s.min()), 4), round(float(s.max()), 4)]


def summary(name: str) -> dict[str, Any]:
    """Counts and ranges of dataset ``name``, and what was merged or set aside."""
    df, aside, log, info = _parts(name)
    elements = list(df.attrs["elements"])
    reasons = Counter(aside["reason"])
    ordered = {r: reasons[r] for r in _REASON_ORDER if reasons.get(r)}
    ordered.update({r: n for r, n in reasons.items() if r not in ordered})
    out: dict[str, Any] = {
        "dataset": name,
        "files": list(DATASETS[name]),
        "data_hash": data_hash(name),
        "rows_read": info["rows_read"],
        "alloys": len(df),
        "elements": len(elements),
        "element_list": elements,
        "systems": int(df["system"].nunique()),
        "n_elements_range": [int(df["n_elements"].min()), int(df["n_elements"].max())],
        "merged": {
            "alloys_from_several_records": len(log),
            "records_merged_into_them": int(log["n_records"].sum()) if len(log) else 0,
        },
        "set_aside": {
            "total": len(aside),
            "by_reason": ordered,
            "why": {r: REASONS.get(r, "") for r in ordered},
            "examples": {r: str(aside.loc[aside["reason"] == r, "raw_formula"].iloc[0]) for r in ordered},
        },
        "zero_amount_terms_removed": info["zero_terms_removed"],
    }
    if name == "temperatures":
        cols = ("Tg", "Tx", "Tl", "dTx", "Trg", "gamma")
        out["ranges"] = {c: _range(df[c]) for c in cols}
        out["with_value"] = {c: int(df[c].notna().sum()) for c in cols}
        fixes = info["corrections"]
        out["corrected"] = {
            "total": len(fixes),
            "rule": "a value above 2500 K whose tenth makes the record ordered Tg < Tx < Tl is divided by 10",
            "values": [f"{r.source}:{r.row} {r.raw_formula}: {r.detail}" for r in fixes.itertuples()],
        }
        out["conflicts_by_temperature"] = dict(info["conflicts"])
        out["set_aside"]["by_source"] = {k: int(v) for k, v in Counter(aside["source"]).items()}
    elif name == "elastic":
        out["ranges"] = {c: _range(df[c]) for c in ("G", "K", "E", "nu")}
        out["missing"] = {c: int(df[c].isna().sum()) for c in ("G", "K")}
        out["flagged"] = {r.formula_as_written: r.note for r in df.itertuples() if r.note}
    else:
        out["with_measured_dmax"] = int(df["dmax_mm"].notna().sum())
        out["ranges"] = {"dmax_mm": _range(df["dmax_mm"])}
        out["classes"] = {c: int((df["gfa_class"] == c).sum()) for c in CLASSES}
        out["conflicts"] = int(df["conflict"].sum())
        out["conflicts_by_kind"] = {
            "class labels disagree": info["class_conflicts"],
            "Dmax values disagree": info["dmax_conflicts"],
        }
        out["set_aside"]["by_source"] = {k: int(v) for k, v in Counter(aside["source"]).items()}
        out["ribbon_placeholders_ignored"] = info["ribbon_placeholders_ignored"]
    return out
