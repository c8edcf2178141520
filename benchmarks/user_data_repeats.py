"""How the repeat rule of a user's table decides, on real measurements with real repeats.

The table is Ward et al. 2018's compilation (bundled) with its measured dTx
column standing in for a user's own data: most rows have no dTx, 81
compositions have repeats, some of them disagreeing (different heating
rates, typos). For each tolerance it counts what two rules keep: "range"
(every repeat set aside when their range exceeds tol x |median|) and the
shipped "majority" rule (the median of the repeats within tol x |median| of
the median, when they are at least half; the others set aside).

    nice -n 10 python benchmarks/user_data_repeats.py [--data my.csv --target HV]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command_line, write  # noqa: E402

from pcids.user_data import _load, _number, read_property_table  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="a user table (default: the bundled Ward 2018 file)")
    parser.add_argument("--target", default="dTx")
    parser.add_argument("--tolerances", default="0.05,0.1,0.2")
    args = parser.parse_args(argv)
    path = args.data or Path(str(resources.files("pcids") / "data" / "ward2018_metallic_glasses.csv"))
    warnings.simplefilter("ignore")  # formulas whose amounts do not sum to 100: reported by the CLI, not counted here
    rows, _ = _load(path, args.target, None)
    value_at = {r.line: _number(r.value) for r in rows}
    merged, _ = read_property_table(path, args.target, duplicate_tolerance=float("inf"))
    groups = [[value_at[line] for line in lines] for lines in merged["lines"]]
    repeated = [g for g in groups if len(g) > 1]
    out = []
    for tol in (float(t) for t in args.tolerances.split(",")):
        range_lost = sum(1 for g in repeated if max(g) - min(g) > tol * abs(statistics.median(g)))
        frame, problems = read_property_table(path, args.target, duplicate_tolerance=tol)
        reasons = problems["reason"]
        conflicting = reasons[reasons.str.startswith("conflicting")]
        out.append({
            "tolerance": tol,
            "compositions": len(groups),
            "with_repeats": len(repeated),
            "repeat_rows": sum(map(len, repeated)),
            "range_rule_kept": len(groups) - range_lost,
            "majority_rule_kept": len(frame),
            "majority_outlier_rows": int(reasons.str.contains("disagrees with the other repeats").sum()),
            "majority_conflicting_compositions": int(conflicting.nunique()),
        })
    lines = [
        f"# Repeats in a user's table: {path.name}, column {args.target}",
        "",
        f"{len(rows)} rows read, {len(groups)} compositions with a usable value, {len(repeated)} of them repeated "
        f"({sum(map(len, repeated))} rows).",
        "",
        "| tolerance | range rule: compositions kept | majority rule: kept | outlier rows set aside | compositions with no agreeing half |",
        "|---|---|---|---|---|",
        *[f"| {r['tolerance']:g} | {r['range_rule_kept']} | {r['majority_rule_kept']} | {r['majority_outlier_rows']} | "
          f"{r['majority_conflicting_compositions']} |" for r in out],
        "",
        f"Command: `{command_line(__file__, argv)}`",
    ]
    write("user_data_repeats", {"data": path.name, "target": args.target, "rows": out}, "\n".join(lines))


if __name__ == "__main__":
    main()
