"""Scaling of ``pcids screen`` (issue 14): a 20-element palette, systems of 3-5 elements, G = 36, K = 105, GFA check.

* wall time of the coarse screen on 1 and 2 local workers (LocalCluster, one
  thread each) and their ratio; systems per second per worker, per size;
  peak memory (max RSS) per worker process; the same ranking from both;
* the same job through ``--scheduler`` against a ``dask scheduler`` and two
  ``dask worker`` processes this script starts on 127.0.0.1: equal results;
* the cost of refining the best 10 systems with ``design`` (2 workers);
* on paper, from the measured per-system cost of each size: the 20-element
  screen (21,489 systems) and the 40-element one (759,278) on 1, 16 and 256 workers.

    python benchmarks/screen_scaling.py [--subset 1000] [--workers 1,2] [--no-scheduler]

``--subset N`` times a random sample of N systems (seed 0, stratified by size)
instead of all 21,489, for a busy machine; the per-size costs it measures are
what the estimates use. Writes benchmarks/results/screen_scaling.json and .md.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"G": 36.0, "K": 105.0}
SIZES = (3, 4, 5)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    """User + system CPU time of this process: what a worker spent, whatever the machine's load."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def sample(palette: list[str], n: int, seed: int = 0) -> dict[int, list[tuple[str, ...]]]:
    """Every system per size, or ``n`` of them drawn at random, stratified by size."""
    from itertools import combinations

    import numpy as np

    total = sum(math.comb(len(palette), s) for s in SIZES)
    rng = np.random.default_rng(seed)
    out = {}
    for s in SIZES:
        allc = list(combinations(palette, s))
        if n:
            k = max(1, round(n * len(allc) / total))
            idx = np.sort(rng.choice(len(allc), size=k, replace=False))
            allc = [allc[i] for i in idx]
        out[s] = allc
    return out


def timed_screen(client, palette, chosen: dict[int, list]) -> dict:
    """Coarse screen (no refinement) per size on ``client``: wall seconds and the systems table."""
    import pandas as pd

    from pcids.screen import screen

    per, frames = {}, []
    for s, systems in chosen.items():
        load0 = os.getloadavg()[0]
        cpu0, me0 = sum(client.run(cpu_seconds).values()), cpu_seconds()
        t = time.perf_counter()
        res = screen(palette, targets=TARGETS, only=systems, client=client, top=0)
        per[s] = {
            "systems": len(systems), "seconds": time.perf_counter() - t, "load_before": load0, "load_after": os.getloadavg()[0],
            "worker_cpu_seconds": sum(client.run(cpu_seconds).values()) - cpu0, "client_cpu_seconds": cpu_seconds() - me0,
        }
        frames.append(res.systems)
    table = pd.concat(frames, ignore_index=True).sort_values(["score", "system"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return {"per_size": per, "table": table}


def worker_memory(client) -> list[float]:
    return sorted(client.run(max_rss_mb).values())


def compare(a, b) -> dict:
    import numpy as np

    same_order = a["system"].tolist() == b["system"].tolist()
    m = a.merge(b, on="system", suffixes=("_a", "_b"))
    rel = np.abs(m["score_a"] - m["score_b"]) / np.maximum(np.abs(m["score_a"]), 1e-300)
    return {"same_ranking": bool(same_order), "same_best": bool((m["best_a"] == m["best_b"]).all()), "max_rel_score_diff": float(rel.max()), "n": len(m)}


def local_runs(palette, chosen, workers: list[int], refine: int) -> dict:
    from pcids.screen import cluster, screen

    runs = {}
    for w in workers:
        t = time.perf_counter()
        with cluster.connect(workers=w) as c:
            cluster.register_models(c, True)
            screen(palette, targets=TARGETS, only=[v[0] for v in chosen.values()], client=c, top=0)  # warm-up
            startup = time.perf_counter() - t
            r = timed_screen(c, palette, chosen)
            r["workers"], r["startup_seconds"], r["worker_max_rss_mb"] = w, startup, worker_memory(c)
            if w == max(workers) and refine:
                r["refine"] = refine_cost(c, r["table"], refine)
        runs[w] = r
        print(f"{w} worker(s): " + ", ".join(f"{s}: {v['seconds']:.1f} s" for s, v in r["per_size"].items()), flush=True)
    return runs


def refine_cost(client, table, n: int = 10) -> dict:
    from pcids.screen import cluster
    from pcids.screen.coarse import Spec
    from pcids.screen.refine import refine_system

    spec = Spec(TARGETS)
    best = table["system"].head(n).tolist()
    got = {}
    t = time.perf_counter()
    cluster.run_tasks(client, ((s, refine_system, (tuple(s.split("-")), spec, 5)) for s in best), lambda s, df: got.__setitem__(s, df))
    return {"systems": len(got), "seconds": time.perf_counter() - t}


def scheduler_run(palette, chosen) -> dict:
    """``dask scheduler`` + two ``dask worker`` processes on 127.0.0.1, then the same screen through --scheduler."""
    from pcids.screen import cluster

    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    with tempfile.TemporaryDirectory() as tmp:
        sfile = Path(tmp) / "scheduler.json"
        procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(sfile)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            for _ in range(600):
                if sfile.exists() and sfile.stat().st_size:
                    break
                time.sleep(0.1)
            import json

            addr = json.loads(sfile.read_text())["address"]
            for _ in range(2):
                procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(sfile), "--nthreads", "1", "--nworkers", "1",
                                               "--host", "127.0.0.1", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            from distributed import Client

            with Client(addr, timeout=60) as c:
                c.wait_for_workers(2, timeout=300)
                cluster.register_models(c, True)
                r = timed_screen(c, palette, chosen)
                r["address"], r["worker_max_rss_mb"] = addr, worker_memory(c)
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
    return r


def n_batches(n_pal: int) -> int:
    """Tasks the full screen of an n_pal-element palette, sizes 3-5, is cut into (default batch size)."""
    from pcids.screen import DEFAULT_BATCH_POINTS
    from pcids.screen.palette import MIN_BATCHES

    out = 0
    for s in SIZES:
        n = math.comb(n_pal, s)
        per = max(1, min(DEFAULT_BATCH_POINTS // math.comb(19, s - 1), math.ceil(n / MIN_BATCHES)))
        out += math.ceil(n / per)
    return out


def estimate(cost: dict[int, float], eff: float, client_per_batch: float) -> dict:
    """Hours for the 20- and 40-element 3-5 screens from seconds per system per size on one worker;
    never less than the client's own time (``client_per_batch`` CPU seconds per finished task)."""
    out = {}
    for n_pal in (20, 40):
        serial = sum(math.comb(n_pal, s) * cost[s] for s in SIZES)
        floor = n_batches(n_pal) * client_per_batch
        out[n_pal] = {
            "systems": sum(math.comb(n_pal, s) for s in SIZES), "batches": n_batches(n_pal), "client_bound_hours": floor / 3600,
            "hours": {w: max(serial / (w * (1.0 if w == 1 else eff)), floor) / 3600 for w in (1, 16, 256)},
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subset", type=int, default=0, help="time N random systems (stratified by size) instead of all 21,489")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--no-scheduler", action="store_true")
    ap.add_argument("--refine", type=int, default=10, help="time refining the best N systems with design (0: skip)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import write

    from pcids.screen import named_palette

    palette = named_palette("glass-formers:20")
    chosen = sample(palette, args.subset)
    workers = [int(w) for w in args.workers.split(",")]
    t_all = time.perf_counter()
    runs = local_runs(palette, chosen, workers, args.refine)
    sched = None if args.no_scheduler else scheduler_run(palette, chosen)
    w1, w2 = runs[min(workers)], runs[max(workers)]
    wall = {w: sum(v["seconds"] for v in r["per_size"].values()) for w, r in runs.items()}
    speedup = wall[min(workers)] / wall[max(workers)]
    eff = speedup / (max(workers) / min(workers))
    cost = {s: w1["per_size"][s]["seconds"] * min(workers) / w1["per_size"][s]["systems"] for s in SIZES}
    cpu_cost = {s: w1["per_size"][s]["worker_cpu_seconds"] / w1["per_size"][s]["systems"] for s in SIZES}
    cpu = {w: sum(v["worker_cpu_seconds"] for v in r["per_size"].values()) for w, r in runs.items()}
    n_sys = sum(len(v) for v in chosen.values())
    same = compare(w1["table"], w2["table"])
    same_sched = compare(w2["table"], sched["table"]) if sched else None
    from pcids.screen import DEFAULT_BATCH_POINTS
    from pcids.screen.palette import batches

    tasks = sum(1 for s, v in chosen.items() for _ in batches(palette, [s], 5.0, DEFAULT_BATCH_POINTS, v))
    # the pure client's CPU per task: through --scheduler (a LocalCluster's scheduler runs inside the client process)
    client_per_batch = sum(v["client_cpu_seconds"] for v in (sched or w1)["per_size"].values()) / tasks
    est = estimate(cost, eff, client_per_batch)
    est_cpu = estimate(cpu_cost, cpu[min(workers)] / cpu[max(workers)], client_per_batch)
    payload = {
        "palette": palette, "targets": TARGETS, "sizes": list(SIZES), "systems_timed": n_sys, "subset": args.subset,
        "runs": {w: {k: v for k, v in r.items() if k != "table"} for w, r in runs.items()},
        "wall_seconds": wall, "speedup": speedup, "parallel_efficiency": eff,
        "systems_per_second_per_worker": {w: n_sys / wall[w] / w for w in wall},
        "seconds_per_system_one_worker": cost, "same_ranking_1_vs_2": same,
        "scheduler": None if sched is None else {k: v for k, v in sched.items() if k != "table"} | {"same_as_local": same_sched},
        "tasks": tasks, "client_cpu_seconds_per_task": client_per_batch, "worker_cpu_seconds": cpu, "cpu_seconds_per_system": cpu_cost, "estimates": est, "estimates_from_cpu": est_cpu, "benchmark_seconds": time.perf_counter() - t_all,
    }
    what = f"a random {n_sys:,} of the 21,489 systems (seed 0, stratified by size)" if args.subset else "all 21,489 systems"
    lines = [
        "# pcids screen: scaling (issue 14)", "",
        f"Palette `glass-formers:20` ({', '.join(palette)}), systems of 3-5 elements, G = 36, K = 105 GPa, "
        f"GFA check on, coarse step 5 at.%; timed: {what}. Coarse screen only (no refinement) unless said.", "",
        "| workers | 3-el s | 4-el s | 5-el s | total s | systems/s/worker | worker CPU s | client CPU s | max RSS per worker (MB) | load before -> after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w, r in runs.items():
        ps = r["per_size"]
        lines.append(
            f"| {w} local | {ps[3]['seconds']:.1f} | {ps[4]['seconds']:.1f} | {ps[5]['seconds']:.1f} | {wall[w]:.1f} | "
            f"{n_sys / wall[w] / w:.1f} | {sum(v['worker_cpu_seconds'] for v in ps.values()):.1f} | "
            f"{sum(v['client_cpu_seconds'] for v in ps.values()):.1f} | {', '.join(f'{m:.0f}' for m in r['worker_max_rss_mb'])} | "
            f"{ps[3]['load_before']:.1f} -> {ps[5]['load_after']:.1f} |"
        )
    if sched:
        ps = sched["per_size"]
        tot = sum(v["seconds"] for v in ps.values())
        lines.append(
            f"| 2 via --scheduler | {ps[3]['seconds']:.1f} | {ps[4]['seconds']:.1f} | {ps[5]['seconds']:.1f} | {tot:.1f} | "
            f"{n_sys / tot / 2:.1f} | {sum(v['worker_cpu_seconds'] for v in ps.values()):.1f} | "
            f"{sum(v['client_cpu_seconds'] for v in ps.values()):.1f} | {', '.join(f'{m:.0f}' for m in sched['worker_max_rss_mb'])} | "
            f"{ps[3]['load_before']:.1f} -> {ps[5]['load_after']:.1f} |"
        )
    lines += [
        "",
        f"Speed-up {min(workers)} -> {max(workers)} workers: **{speedup:.2f}x** (parallel efficiency {eff:.2f}); "
        f"same ranking from both: {same['same_ranking']} (same best compositions: {same['same_best']}, "
        f"largest relative score difference {same['max_rel_score_diff']:.2g} over {same['n']} systems)."
        + ("" if not same_sched else f" Through --scheduler (dask scheduler + 2 dask worker processes): same ranking as local {same_sched['same_ranking']}, "
           f"same best compositions {same_sched['same_best']}, largest relative score difference {same_sched['max_rel_score_diff']:.2g}."),
        "Local cluster start-up with model loading: " + ", ".join(f"{w} worker(s) {r['startup_seconds']:.1f} s" for w, r in runs.items()) + ".",
    ]
    if "refine" in w2:
        lines.append(f"Refining the best {w2['refine']['systems']} systems with `design` (h = 1) on {max(workers)} workers: {w2['refine']['seconds']:.1f} s.")
    lines += [
        "", "Per-system cost on one worker: wall " + ", ".join(f"{s} elements {1000 * c:.1f} ms" for s, c in cost.items())
        + "; CPU " + ", ".join(f"{s} elements {1000 * c:.1f} ms" for s, c in cpu_cost.items())
        + f". Worker CPU seconds for the whole job: {', '.join(f'{w} worker(s) {c:.1f}' for w, c in cpu.items())} "
        f"(ratio {cpu[max(workers)] / cpu[min(workers)]:.2f}: the work does not grow with the workers; on a shared box the wall-time "
        "ratio is bounded by the CPU share the job gets, the CPU ratio is not).", "",
        f"On paper (per-system costs above; {max(workers)}-worker efficiency assumed at 16 and 256 workers, and never faster than "
        f"the client, which spent {1000 * client_per_batch:.0f} ms of CPU per finished task {'through --scheduler' if sched else 'with its local scheduler'} ({tasks} tasks; the 40-element screen is "
        f"{n_batches(40):,} tasks at the default --batch-points: a larger one lowers that floor on a big cluster):", "",
        "| screen | systems | 1 worker | 16 workers | 256 workers |", "|---|---|---|---|---|",
    ]
    for label, table in (("wall", est), ("CPU", est_cpu)):
        for n_pal, e in table.items():
            h = e["hours"]
            lines.append(f"| {n_pal} elements, 3-5 (from {label} per system) | {e['systems']:,} | {h[1]:.2f} h | {60 * h[16]:.1f} min | {60 * h[256]:.1f} min |")
    lines += ["", f"Command: `python benchmarks/screen_scaling.py {' '.join(sys.argv[1:])}` (run under `nice -n 10`; the box has 2 cores shared with other jobs: read the load column)."]
    write("screen_scaling", payload, "\n".join(lines))


if __name__ == "__main__":
    main()
