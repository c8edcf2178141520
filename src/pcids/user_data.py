"""A user's own measurements: a table of formulas and one numeric column, read and checked.

Every row that cannot be used is kept in a ``problems`` frame with where it
came from (``my.csv line 5``, ``my.xlsx row 7``) and why, the way ``pcids
predict`` reports a batch; the usable rows come back one per composition.
Repeats of one composition are merged by the rule in docs/decisions.md ("Your
own data: repeats ..."). Fitting and cross-validation are in
:mod:`pcids.user_fit`; the fitted model is :class:`pcids.models.user.UserPropertyModel`.
"""

from __future__ import annotations

import csv
import hashlib
import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pcids.composition import Composition, parse_formula
from pcids.errors import DataError, PcidsError

#: Columns taken as the formulas when none is named (case-insensitive), in this order of preference.
FORMULA_COLUMNS: tuple[str, ...] = ("formula", "composition", "alloy")
#: Repeats of one composition farther than this fraction of |median| from their median are outliers.
DUPLICATE_TOLERANCE = 0.10
#: File suffixes read, and by what.
READERS: dict[str, str] = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xls": "excel", ".parquet": "parquet"}
PROBLEM_COLUMNS = ["where", "line", "input", "value", "reason"]


@dataclass(frozen=True, eq=False)
class _Row:
    where: str  # "my.csv line 5"
    line: int | None  # the number in ``where``
    text: str  # the formula as typed
    value: Any  # the target cell as read


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _match_column(columns: Sequence[str], wanted: str, what: str, option: str, source: str) -> str:
    if wanted in columns:
        return wanted
    near = [c for c in columns if c.strip().lower() == wanted.strip().lower()]
    hint = f"; did you mean {near[0]!r}?" if len(near) == 1 else f"; choose one with {option}"
    raise DataError(f"{source} has no {what} column {wanted!r} (columns: {', '.join(map(str, columns))}){hint}")


def _formula_column(columns: Sequence[str], given: str | None, source: str) -> str:
    if given is not None:
        return _match_column(columns, given, "formula", "--formula-column", source)
    found = [c for name in FORMULA_COLUMNS for c in columns if str(c).strip().lower() == name]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(
            f"{source} has no formula column (looked for {', '.join(FORMULA_COLUMNS)}; columns: {', '.join(map(str, columns))}); "
            "name it with --formula-column"
        )
    raise DataError(f"{source} has several formula columns ({', '.join(found)}); choose one with --formula-column")


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, record) pairs; the line is where the record ends, as ``pcids predict`` counts."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            head = fh.readline()
            fh.seek(0)
            delimiter = "\t" if path.suffix == ".tsv" or ("\t" in head and "," not in head) else ";" if (";" in head and "," not in head) else ","
            reader = csv.DictReader(fh, delimiter=delimiter)
            if not reader.fieldnames:
                raise DataError(f"{path} is empty")
            records = [(reader.line_num, rec) for rec in reader]
            return list(reader.fieldnames), records
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} as CSV: {exc}") from None


def _read_frame(path: Path, kind: str) -> pd.DataFrame:
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_excel(path, dtype=object)
    except ImportError as exc:
        raise PcidsError(f"reading {path.suffix} files needs an extra package ({exc}); `pip install 'pcids[xlsx]'` (openpyxl), or save the table as CSV") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure means the file is not a table pandas can read
        raise DataError(f"cannot read {path} as {kind}: {exc}") from None


def _rows_of_frame(df: pd.DataFrame, fcol: str, tcol: str, name: str, first_row: int | None) -> list[_Row]:
    """Rows of a frame; ``first_row``: the sheet/file row number of the first record (None: use the index)."""
    rows = []
    for i, (idx, text, value) in enumerate(zip(df.index, df[fcol], df[tcol])):
        line = first_row + i if first_row is not None else None
        where = f"{name} row {line}" if line is not None else f"row {idx!r}"
        rows.append(_Row(where, line, "" if _is_missing(text) else str(text).strip(), value))
    return rows


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _load(source: str | Path | pd.DataFrame, target: str, formula_column: str | None) -> tuple[list[_Row], dict[str, Any]]:
    """The rows and where they came from (file name, sha256, columns)."""
    if isinstance(source, pd.DataFrame):
        columns = [str(c) for c in source.columns]
        fcol = _formula_column(columns, formula_column, "the table")
        tcol = _match_column(columns, target, "target", "--target", "the table")
        blob = source[[fcol, tcol]].to_csv(index=False).encode()
        info = {"data_file": None, "data_sha256": _sha256(blob)}
        return _rows_of_frame(source, fcol, tcol, "", None), {**info, "formula_column": fcol, "target_column": tcol}
    path = Path(source)
    if not path.is_file():
        raise DataError(f"data file {path} not found" if not path.is_dir() else f"{path} is a directory, not a data file")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: cannot read {path.suffix or 'files without an extension'}; give a {', '.join(sorted(READERS))} file")
    info = {"data_file": path.name, "data_sha256": _sha256(path.read_bytes())}
    if kind == "csv":
        header, records = _read_csv(path)
        fcol = _formula_column(header, formula_column, str(path))
        tcol = _match_column(header, target, "target", "--target", str(path))
        rows = [_Row(f"{path.name} line {n}", n, (rec.get(fcol) or "").strip(), rec.get(tcol)) for n, rec in records]
    else:
        df = _read_frame(path, kind)
        columns = [str(c) for c in df.columns]
        df.columns = columns
        fcol = _formula_column(columns, formula_column, str(path))
        tcol = _match_column(columns, target, "target", "--target", str(path))
        rows = _rows_of_frame(df, fcol, tcol, path.name, 2 if kind == "excel" else 1)
    return rows, {**info, "formula_column": fcol, "target_column": tcol}


def _number(value: Any) -> float | str:
    """The cell as a float, or why it is not one."""
    if _is_missing(value):
        return "no value (empty cell)"
    if isinstance(value, bool):
        return f"value {value!r} is not a number"
    if isinstance(value, (int, float)):
        x = float(value)
    else:
        text = str(value).strip()
        try:
            x = float(text)
        except ValueError:
            hint = " (write decimals with a point)" if text.replace(",", "", 1).replace("-", "", 1).isdigit() else ""
            return f"value {text!r} is not a number{hint}"
    if not math.isfinite(x):
        return f"value {value!r} is not finite"
    return x


def _unsupported(elements: Sequence[str], columns: Sequence[str]) -> dict[str, str]:
    """Element -> why the descriptors cannot be computed for it (no property data)."""
    from pcids.elements import element_table

    table = element_table()
    out = {}
    for el in elements:
        if el not in table.index:
            out[el] = "no property data"
        else:
            gaps = [c for c in columns if pd.isna(table.at[el, c])]
            if gaps:
                out[el] = f"no {', '.join(gaps)} data"
    return out


def read_property_table(
    source: str | Path | pd.DataFrame,
    target: str,
    formula_column: str | None = None,
    duplicate_tolerance: float = DUPLICATE_TOLERANCE,
    features: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a table of formulas and one measured property; return ``(frame, problems)``.

    Parameters
    ----------
    source : path or DataFrame
        A .csv (comma, semicolon or tab separated), .xlsx or .parquet file, or a DataFrame.
    target : str
        The column holding the measurements.
    formula_column : str, optional
        The column holding the formulas (default: the one named formula, composition or alloy).
    duplicate_tolerance : float
        Repeats of a composition become the median of those within this fraction of the median's
        magnitude of it, when they are at least half; the others are set aside as outliers. When
        fewer than half agree, every repeat is set aside as conflicting.
    features : sequence of str, optional
        The weighted means the model will use (default: the shipped forward models' inputs);
        a row with an element lacking their data is set aside.

    Returns
    -------
    frame : DataFrame
        One row per composition: ``formula`` (canonical), ``input`` (first as typed), the target
        (float), ``n_repeats``, ``lines``, ``system``. ``frame.attrs`` holds the provenance
        (data file, its sha256, the column names, rows read).
    problems : DataFrame
        One row per row set aside: ``where``, ``line``, ``input``, ``value``, ``reason``, in input order.
    """
    from pcids.descriptors import WeightedMeans
    from pcids.models.ensemble import SHIPPED_FEATURES

    if not (isinstance(duplicate_tolerance, (int, float)) and duplicate_tolerance >= 0):
        raise DataError(f"duplicate_tolerance must be a number >= 0, got {duplicate_tolerance!r}")
    columns = WeightedMeans(tuple(features or SHIPPED_FEATURES))._columns()
    rows, info = _load(source, target, formula_column)
    values = {r: _number(r.value) for r in rows}
    if rows and all(isinstance(v, str) for v in values.values()):
        example = next((r for r in rows if not _is_missing(r.value)), None)
        if example is not None:
            raise DataError(f"column {info['target_column']!r} is not numeric (e.g. {example.value!r} at {example.where})")
    problems: dict[_Row, str] = {}
    parsed: list[tuple[_Row, Composition, float]] = []
    for r in rows:
        if not r.text:
            problems[r] = "no formula (empty cell)"
            continue
        try:
            p = parse_formula(r.text)
            comp = Composition.from_formula(r.text)
        except PcidsError as exc:
            problems[r] = str(exc).strip()
            continue
        value = values[r]
        if isinstance(value, str):
            problems[r] = value
            continue
        if (problem := p.sum_problem()) is not None:  # normalising 91 parts to 100 hides a typo: say so
            warnings.warn(f"{r.where}: {r.text}: {problem}; normalised to 100 at.%", UserWarning, stacklevel=2)
        parsed.append((r, comp, value))
    missing = _unsupported(sorted({el for _, c, _ in parsed for el in c.elements}), columns)
    kept = []
    for r, comp, value in parsed:
        lacking = [el for el in comp.elements if el in missing]
        if lacking:
            problems[r] = "; ".join(f"element {el}: {missing[el]}, which the model's inputs need" for el in lacking)
        else:
            kept.append((r, comp, value))
    tcol = info["target_column"]
    records = _merge_repeats(kept, duplicate_tolerance, problems)
    frame = pd.DataFrame(records, columns=["formula", "input", "value", "n_repeats", "lines", "system"]).rename(columns={"value": tcol})
    frame.attrs.update({**info, "rows_read": len(rows), "rows_set_aside": len(problems), "duplicate_tolerance": float(duplicate_tolerance)})
    order = {r: i for i, r in enumerate(rows)}
    bad = sorted(problems, key=order.__getitem__)
    prob = pd.DataFrame(
        [(r.where, r.line, r.text, None if _is_missing(r.value) else r.value, problems[r]) for r in bad], columns=PROBLEM_COLUMNS
    )
    return frame, prob


def _merge_repeats(kept: list[tuple[_Row, Composition, float]], tolerance: float, problems: dict[_Row, str]) -> list[dict[str, Any]]:
    """One record per composition: the median of the repeats within ``tolerance`` x |median| of the median
    when they are at least half; the others are outliers, set aside. Fewer than half agreeing: all set aside."""
    groups: dict[str, list[tuple[_Row, Composition, float]]] = {}
    for item in kept:
        groups.setdefault(item[1].formula, []).append(item)
    records = []
    for key, items in groups.items():
        values = [v for _, _, v in items]
        median = float(statistics.median(values))
        near = [it for it in items if abs(it[2] - median) <= tolerance * abs(median)]
        if len(near) < len(items):
            first = items[0][0]
            unit = first.where.rsplit(" ", 2)[-2] if first.line is not None else "row"
            said = f"repeats of {key} ({unit}s {', '.join(r.where.rsplit(' ', 1)[-1] for r, _, _ in items)}: {', '.join(f'{v:g}' for v in values)})"
            agree = 2 * len(near) >= len(items)
            for r, _, v in items:
                if not agree:
                    problems[r] = f"conflicting {said}: fewer than half lie within {tolerance:g} x |median {median:g}| of it; all set aside"
                elif not any(r is n[0] for n in near):
                    problems[r] = f"{v:g} disagrees with the other {said}: more than {tolerance:g} x |median {median:g}| away; set aside"
            if not agree:
                continue
        records.append(
            {
                "formula": key,
                "input": near[0][0].text,
                "value": float(statistics.median(v for _, _, v in near)),
                "n_repeats": len(near),
                "lines": [r.line for r, _, _ in near],
                "system": near[0][1].system,
            }
        )
    return records
