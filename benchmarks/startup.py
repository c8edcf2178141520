"""Start-up time of the commands a user runs first (issue 11 item 11).

Whole-process wall and CPU time (user + system of the child, from
``os.wait4``) of ``pcids --help``, a one-formula ``pcids predict`` and the
paper's case design, each run once to warm the file cache and then 5 times;
the median is reported, with the machine load (``os.getloadavg``) before and
after. Targets: predict <= 1.5 s, case design <= 2.5 s. The same commands with
``python -X importtime`` list the modules they import (torch and scikit-learn
must not be among them).

    python benchmarks/startup.py            # writes benchmarks/results/startup.{json,md}
    python benchmarks/startup.py --src OTHER/src --name startup_before   # another checkout, for comparison
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PCIDS = [sys.executable, "-c", "import sys; from pcids.cli import main; sys.argv[0] = 'pcids'; sys.exit(main())"]
COMMANDS = {
    "pcids --help": ["--help"],
    "pcids predict Cu50Zr50": ["predict", "Cu50Zr50"],
    "pcids design Ti Zr Be Fe --G 36 --K 105": ["design", "Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105"],
}
TARGETS = {"pcids predict Cu50Zr50": 1.5, "pcids design Ti Zr Be Fe --G 36 --K 105": 2.5}
REPEATS = 5
HEAVY = ("torch", "sklearn", "scipy")


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one child process, output discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def heavy_imports(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Cumulative import time (s) of the heavy top-level packages, from ``-X importtime`` (0 = not imported)."""
    out = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, env=env)
    found = {m: 0.0 for m in HEAVY}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if name in found:
            found[name] = int(cumulative) / 1e6
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="pcids sources to time (default: this checkout's)")
    ap.add_argument("--name", default="startup", help="results file stem in benchmarks/results")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.src.resolve())}
    load_before = os.getloadavg()
    rows = {}
    for label, verb in COMMANDS.items():
        argv = [*PCIDS, *verb]
        run_once(argv, env)  # warm-up: file cache, .pyc files
        runs = [run_once(argv, env) for _ in range(REPEATS)]
        rows[label] = {
            "wall_s": [round(w, 3) for w, _ in runs],
            "cpu_s": [round(c, 3) for _, c in runs],
            "wall_median_s": round(statistics.median(w for w, _ in runs), 3),
            "cpu_median_s": round(statistics.median(c for _, c in runs), 3),
            "target_s": TARGETS.get(label),
            "heavy_imports_s": heavy_imports(argv, env),
        }
    load_after = os.getloadavg()
    command = " ".join(["python", "benchmarks/startup.py", *sys.argv[1:]])
    result = {
        "commands": rows,
        "repeats": REPEATS,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "src": str(args.src),
        "command": command,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Start-up time of the first commands",
        "",
        f"Whole process (interpreter start to exit), median of {REPEATS} runs after one warm-up; CPU = user + system. "
        f"Sources: `{args.src}`.",
        "",
        "| command | wall median (s) | CPU median (s) | target (s) | met | torch / sklearn / scipy imported |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in rows.items():
        target = r["target_s"]
        met = "" if target is None else ("yes" if r["wall_median_s"] <= target else "no")
        heavy = " / ".join("no" if r["heavy_imports_s"][m] == 0 else f"{r['heavy_imports_s'][m]:.2f} s" for m in HEAVY)
        lines.append(f"| `{label}` | {r['wall_median_s']:.2f} | {r['cpu_median_s']:.2f} | {target if target is not None else '-'} | {met} | {heavy} |")
    lines += [
        "",
        "Wall times of each run: " + "; ".join(f"`{k}` {', '.join(f'{w:.2f}' for w in r['wall_s'])}" for k, r in rows.items()) + ".",
        "",
        f"Machine: {os.cpu_count()} cores shared with other jobs; load average (1, 5, 15 min) "
        f"{', '.join(f'{x:.2f}' for x in load_before)} before, {', '.join(f'{x:.2f}' for x in load_after)} after. "
        "Wall time on a loaded machine includes waiting for a core; CPU time does not.",
        "",
        f"Command: `{command}`",
        "",
    ]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
