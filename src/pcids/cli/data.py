"""``pcids data [elastic|gfa|temperatures] [--json]``: what the bundled data hold, and how they were cleaned."""

from __future__ import annotations

from enum import Enum
from typing import Any, Optional

import typer


class Dataset(str, Enum):
    elastic = "elastic"
    gfa = "gfa"
    temperatures = "temperatures"


def _fmt_range(r: list[float] | None, unit: str = "") -> str:
    if r is None:
        return "-"
    return f"{r[0]:.4g} - {r[1]:.4g}{(' ' + unit) if unit else ''}"


class _Rows(list):
    def add_row(self, *cells: str) -> None:
        self.append(cells)


def _table(s: dict[str, Any]) -> tuple[str, list[tuple[str, ...]]]:
    """Title and (quantity, value) rows of one dataset's summary."""
    name = s["dataset"]
    title = {
        "elastic": "Elastic moduli (Xiong 2020)",
        "gfa": "Glass-forming ability (Xiong Dmax + GFA, Ward 2018, DMREF v5)",
        "temperatures": "Characteristic temperatures (Xiong 2020, DMREF v5)",
    }[name]
    t = _Rows()
    rows = s["rows_read"]
    read = rows if isinstance(rows, int) else f"{sum(rows.values())} ({', '.join(f'{k} {v}' for k, v in rows.items())})"
    t.add_row("rows read", str(read))
    t.add_row("distinct alloys", str(s["alloys"]))
    t.add_row("elements", f"{s['elements']} ({' '.join(s['element_list'])})")
    t.add_row("alloy systems", str(s["systems"]))
    t.add_row("elements per alloy", _fmt_range(s["n_elements_range"]))
    if name == "elastic":
        units = {"G": "GPa", "K": "GPa", "E": "GPa", "nu": ""}
        for col, r in s["ranges"].items():
            t.add_row(f"{col} range", _fmt_range(r, units[col]))
        t.add_row("missing", ", ".join(f"{k}: {v} alloys" for k, v in s["missing"].items()))
        for formula, note in s["flagged"].items():
            t.add_row(f"flagged {formula}", note)
    elif name == "temperatures":
        for col, r in s["ranges"].items():
            t.add_row(f"{col} range", f"{_fmt_range(r, '' if col in ('Trg', 'gamma') else 'K')} ({s['with_value'][col]} alloys)")
        fixed = s["corrected"]
        t.add_row("corrected", f"{fixed['total']}: {fixed['rule']}")
        for text in fixed["values"]:
            t.add_row("", text)
        t.add_row("conflicts (set aside)", ", ".join(f"{k} {v}" for k, v in s["conflicts_by_temperature"].items()))
    else:
        t.add_row("with measured Dmax", str(s["with_measured_dmax"]))
        t.add_row("Dmax range", _fmt_range(s["ranges"]["dmax_mm"], "mm"))
        t.add_row("classes", ", ".join(f"{k} {v}" for k, v in s["classes"].items()))
        kinds = ", ".join(f"{k} {v}" for k, v in s["conflicts_by_kind"].items())
        t.add_row("conflicts (flagged, kept)", f"{s['conflicts']} ({kinds})")
        t.add_row("ribbon placeholders ignored", f"{s['ribbon_placeholders_ignored']} (Xiong 0.1 / Ward 0.2 mm: not diameters)")
    m = s["merged"]
    t.add_row(
        "merged",
        f"{m['alloys_from_several_records']} alloys from {m['records_merged_into_them']} records"
        + {"gfa": " (majority class; median Dmax)", "temperatures": " (median per temperature)"}.get(name, ""),
    )
    if s["zero_amount_terms_removed"]:
        t.add_row("zero-amount terms removed", f"{s['zero_amount_terms_removed']} rows (e.g. Ag0Cu32Fe68)")
    aside = s["set_aside"]
    t.add_row("set aside", str(aside["total"]))
    for reason, n in aside["by_reason"].items():
        t.add_row(f"  {reason}", f"{n}: {aside['why'][reason]} (e.g. {aside['examples'][reason]!r})")
    t.add_row("data sha256", s["data_hash"][:16] + "...")
    return title, t


def command(
    dataset: Optional[Dataset] = typer.Argument(None, help="elastic, gfa or temperatures (default: all)."),
    json_: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarise the bundled data: alloys, elements, ranges, what was merged or set aside and why."""
    from pcids import datasets
    from pcids.cli._common import Column, console, print_json, print_table, warnings_to_stderr

    names = [dataset.value] if dataset is not None else list(datasets.DATASETS)
    with warnings_to_stderr():
        summaries = {n: datasets.summary(n) for n in names}
    if json_:
        print_json(summaries[names[0]] if dataset is not None else summaries)
        return
    for n in names:
        title, rows = _table(summaries[n])
        print_table([Column("quantity", "left"), Column("value", "left", wrap=True)], rows, title=title)
    console.print(
        "[dim]Rows set aside: pcids.datasets.set_aside(name); merged alloys: pcids.datasets.merge_log(name); "
        "corrected values: pcids.datasets.corrections(name).[/]",
        highlight=False,
    )
