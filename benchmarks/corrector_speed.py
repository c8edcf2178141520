"""Corrector speed: candidates per second, wall time and peak memory, 4-7 elements, E = 5, h = 1 and 0.5.

Each case runs in its own subprocess (so its peak RSS is its own) with one
torch thread, scoring with the shipped forward ensemble (5 + 5 networks of
64 x 64) against targets the system can reach: the predicted G and K of a
composition 3 at.% away from the start (inside the box, so the optimum is
not trivially on an edge). Modes: "auto" is the default of ``correct`` (branch
and bound with sound bounds from 200,000 candidates, same answer; below that
every candidate is scored), "pruned" forces branch and bound, "full" scores
every candidate (h = 1 only; the table checks that all modes give the same
top 10).

    python benchmarks/corrector_speed.py            # all cases
    python benchmarks/corrector_speed.py --quick    # h = 1 only

Writes benchmarks/results/corrector_speed.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

STARTS = {
    4: "Zr50Cu30Ni10Al10",
    5: "Zr45Cu25Ni10Al10Ti10",
    6: "Zr40Cu20Ni10Al10Ti10Be10",
    7: "Zr35Cu15Ni10Al10Ti10Be10Nb10",
}
RESULTS = Path(__file__).parent / "results"


def one_case(n: int, h: float, mode: str) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from pcids.composition import Composition
    from pcids.corrector import correct
    from pcids.design import Objective, make_scorer
    from pcids.models.ensemble import load_elastic_model

    model = load_elastic_model()
    start = Composition.from_formula(STARTS[n])
    els = list(start.elements)
    shifted = dict(start)
    shifted[els[0]] += 3
    shifted[els[1]] -= 3
    mean, _ = model.predict_descriptors(
        __import__("pcids.descriptors", fromlist=["x"]).PaperDescriptors().transform([Composition.from_dict(shifted)])
    )
    targets = {"G": float(mean[0, 0]), "K": float(mean[0, 1])}
    scorer = make_scorer(model, els, Objective(targets))
    t0 = time.perf_counter()
    prune = {"auto": None, "pruned": True, "full": False}[mode]
    res = correct(dict(start), scorer, E=5, h=h, top_k=10, prune=prune, chunk_size=500_000)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n_elements": n, "h": h, "mode": mode, "start": STARTS[n], "targets": targets,
        "n_candidates": int(res.attrs["n_candidates"]), "n_scored": int(res.attrs["n_scored"]),
        "wall_s": wall, "candidates_per_s": res.attrs["n_candidates"] / wall,
        "peak_rss_mb": peak_mb, "top10": res["formula"].tolist(), "best_error": float(res["score"].iloc[0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(one_case(int(args.case[0]), float(args.case[1]), args.case[2])))
        return
    cases = [(n, 1.0, m) for n in (4, 5, 6, 7) for m in ("auto", "pruned", "full")]
    if not args.quick:
        cases += [(n, 0.5, "auto") for n in (4, 5, 6, 7)]
    rows = []
    for n, h, mode in cases:
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, __file__, "--case", str(n), str(h), mode], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["load_avg_1min_before"] = load
        rows.append(row)
        print(f"{n} el, h={h}, {mode}: {row['n_candidates']:,} candidates, {row['n_scored']:,} scored, "
              f"{row['wall_s']:.1f} s, {row['candidates_per_s']:,.0f}/s, peak {row['peak_rss_mb']:.0f} MB (load {load:.1f})", flush=True)
    for r in rows:
        if r["mode"] != "full" and r["h"] == 1.0:
            full = next(x for x in rows if x["mode"] == "full" and x["n_elements"] == r["n_elements"])
            r["same_top10_as_full"] = r["top10"] == full["top10"]
    RESULTS.mkdir(exist_ok=True)
    meta = {"machine": platform.platform(), "cpu_count": os.cpu_count(), "torch_threads": 1, "command": "python benchmarks/corrector_speed.py"}
    (RESULTS / "corrector_speed.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# Corrector speed (E = 5, shipped forward ensemble, 1 torch thread)",
        "",
        f"Command: `{meta['command']}`. Machine: {meta['machine']}, {meta['cpu_count']} cores shared with other jobs "
        "(1-min load average before each case in the last column).",
        "",
        "| elements | h | mode | candidates | scored | wall (s) | candidates/s | peak RSS (MB) | same top 10 as full | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        same = {True: "yes", False: "NO"}.get(r.get("same_top10_as_full"), "")
        lines.append(
            f"| {r['n_elements']} | {r['h']:g} | {r['mode']} | {r['n_candidates']:,} | {r['n_scored']:,} | {r['wall_s']:.2f} | "
            f"{r['candidates_per_s']:,.0f} | {r['peak_rss_mb']:.0f} | {same} | {r['load_avg_1min_before']:.1f} |"
        )
    (RESULTS / "corrector_speed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
