"""Scaling of ``pcids screen`` (issue 14): a 20-element palette, systems of 3-5 elements, G = 36, K = 105, GFA check.

* wall time of the coarse screen on 1 and 2 local workers (LocalCluster, one
  thread each), run as ``pcids screen`` runs it (one job over every size, parts
  and tables written under ``--out``), and their ratio; systems per second per
  worker; peak memory (max RSS) per worker process; the same ranking from both;
* where the time goes: worker CPU, the client's CPU (the LocalCluster's
  scheduler and nannies live in the client process), and per size the task
  compute time from Dask's task stream;
* the same job through ``--scheduler`` against a ``dask scheduler`` and two
  ``dask worker`` processes this script starts on 127.0.0.1 (with ``cluster.quiet_env()``,
  as the README starts them): equal results;
* the cost of refining the best 10 systems with ``design`` (2 workers);
* on paper, from the measured per-system cost of each size: the 20-element
  screen (21,489 systems) and the 40-element one (759,278) on 1, 16 and 256 workers.

    python benchmarks/screen_scaling.py [--subset 1000] [--workers 1,2] [--no-scheduler] [--refine 10]

``--subset N`` times a random sample of N systems (seed 0, stratified by size)
instead of all 21,489, for a busy machine. Writes
benchmarks/results/screen_scaling.json and .md (``--name`` to change).
"""

from __future__ import annotations

import argparse
import math
import os
import re
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
    """Peak resident memory of this process (VmHWM). Not ru_maxrss: Linux carries that over an exec, so a
    spawned worker would report the client's size at the fork (948 MB per worker in a first run)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
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


def compute_by_size(stream: list[dict]) -> dict[int, float]:
    """Seconds of task compute per system size, from Dask's task stream (keys carry (batch, size, systems))."""
    out = {s: 0.0 for s in SIZES}
    for t in stream:
        m = re.search(r"pcids-screen-\w+-\(\d+, (\d+), \d+\)", str(t["key"]))
        if m:
            out[int(m.group(1))] += sum(ss["stop"] - ss["start"] for ss in t["startstops"] if ss["action"] == "compute")
    return out


def timed_screen(client, palette, chosen: dict[int, list], out: Path) -> dict:
    """The coarse screen of every chosen system in one job, as the CLI runs it (``--out``, no refinement)."""
    from distributed import get_task_stream

    from pcids.screen import screen

    systems = [s for v in chosen.values() for s in v]
    load0 = os.getloadavg()[0]
    cpu0, me0 = sum(client.run(cpu_seconds).values()), cpu_seconds()
    t = time.perf_counter()
    with get_task_stream(client) as ts:
        res = screen(palette, targets=TARGETS, only=None if len(systems) == 21_489 else systems,
                     sizes=list(SIZES), client=client, top=0, out=out)
    seconds = time.perf_counter() - t
    return {
        "systems": len(systems), "seconds": seconds, "load_before": load0, "load_after": os.getloadavg()[0],
        "worker_cpu_seconds": sum(client.run(cpu_seconds).values()) - cpu0, "client_cpu_seconds": cpu_seconds() - me0,
        "tasks": res.stats["batches_run"], "compute_seconds_by_size": compute_by_size(ts.data), "table": res.systems,
    }


def worker_memory(client) -> list[float]:
    return sorted(client.run(max_rss_mb).values())


def compare(a, b) -> dict:
    import numpy as np

    same_order = a["system"].tolist() == b["system"].tolist()
    m = a.merge(b, on="system", suffixes=("_a", "_b"))
    rel = np.abs(m["score_a"] - m["score_b"]) / np.maximum(np.abs(m["score_a"]), 1e-300)
    return {"same_ranking": bool(same_order), "same_best": bool((m["best_a"] == m["best_b"]).all()), "max_rel_score_diff": float(rel.max()), "n": len(m)}


def local_runs(palette, chosen, workers: list[int], refine: int, tmp: Path) -> dict:
    from pcids.screen import cluster, screen

    runs = {}
    for w in workers:
        t = time.perf_counter()
        with cluster.connect(workers=w) as c:
            cluster.register_models(c, True)
            screen(palette, targets=TARGETS, only=[v[0] for v in chosen.values()], client=c, top=0)  # warm-up
            startup = time.perf_counter() - t
            r = timed_screen(c, palette, chosen, tmp / f"local{w}")
            r["workers"], r["startup_seconds"], r["worker_max_rss_mb"] = w, startup, worker_memory(c)
            if w == max(workers) and refine:
                r["refine"] = refine_cost(c, r["table"], refine)
        runs[w] = r
        print(f"{w} worker(s): {r['seconds']:.1f} s, worker CPU {r['worker_cpu_seconds']:.1f} s, client CPU {r['client_cpu_seconds']:.1f} s, "
              f"load {r['load_before']:.1f} -> {r['load_after']:.1f}", flush=True)
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


def scheduler_run(palette, chosen, tmp: Path) -> dict:
    """``dask scheduler`` + two ``dask worker`` processes on 127.0.0.1, then the same screen through --scheduler."""
    from pcids.screen import cluster

    dask = str(Path(sys.executable).with_name("dask"))
    # the workers get the embedded cluster's quiet settings, as the README tells users to start them
    env = {**os.environ, **cluster.quiet_env(), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    sfile = tmp / "scheduler.json"
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
            r = timed_screen(c, palette, chosen, tmp / "scheduler")
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
    ap.add_argument("--name", default="screen_scaling", help="result file name under benchmarks/results/")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import write

    from pcids.screen import named_palette

    palette = named_palette("glass-formers:20")
    chosen = sample(palette, args.subset)
    workers = [int(w) for w in args.workers.split(",")]
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        runs = local_runs(palette, chosen, workers, args.refine, Path(tmp))
        sched = None if args.no_scheduler else scheduler_run(palette, chosen, Path(tmp))
    w1, w2 = runs[min(workers)], runs[max(workers)]
    wall = {w: r["seconds"] for w, r in runs.items()}
    speedup = wall[min(workers)] / wall[max(workers)]
    eff = speedup / (max(workers) / min(workers))
    n_by_size = {s: len(v) for s, v in chosen.items()}
    # per-system cost on one worker: its task compute time per size (the whole wall time shared out by compute time)
    comp1 = w1["compute_seconds_by_size"]
    share = wall[min(workers)] * min(workers) / max(sum(comp1.values()), 1e-9)
    cost = {s: share * comp1[s] / n_by_size[s] for s in SIZES}
    compute_cost = {s: comp1[s] / n_by_size[s] for s in SIZES}
    cpu = {w: r["worker_cpu_seconds"] for w, r in runs.items()}
    # the same from the worker's CPU seconds (what a busy box does not inflate)
    cpu_cost = {s: cpu[min(workers)] * comp1[s] / max(sum(comp1.values()), 1e-9) / n_by_size[s] for s in SIZES}
    client_cpu = {w: r["client_cpu_seconds"] for w, r in runs.items()}
    n_sys = sum(n_by_size.values())
    same = compare(w1["table"], w2["table"])
    same_sched = compare(w2["table"], sched["table"]) if sched else None
    tasks = w1["tasks"]
    # the pure client's CPU per task: through --scheduler (a LocalCluster's scheduler and nannies run inside the client process)
    client_per_batch = (sched or w1)["client_cpu_seconds"] / max(tasks, 1)
    est = estimate(cost, eff, client_per_batch)
    est_cpu = estimate(cpu_cost, min(1.0, cpu[min(workers)] / cpu[max(workers)]), client_per_batch)
    payload = {
        "palette": palette, "targets": TARGETS, "sizes": list(SIZES), "systems_timed": n_sys, "subset": args.subset,
        "runs": {w: {k: v for k, v in r.items() if k != "table"} for w, r in runs.items()},
        "wall_seconds": wall, "speedup": speedup, "parallel_efficiency": eff,
        "systems_per_second_per_worker": {w: n_sys / wall[w] / w for w in wall},
        "seconds_per_system_one_worker": cost, "compute_seconds_per_system": compute_cost, "same_ranking_1_vs_2": same,
        "scheduler": None if sched is None else {k: v for k, v in sched.items() if k != "table"} | {"same_as_local": same_sched},
        "tasks": tasks, "client_cpu_seconds_per_task": client_per_batch, "worker_cpu_seconds": cpu, "cpu_seconds_per_system": cpu_cost, "estimates": est, "estimates_from_cpu": est_cpu,
        "benchmark_seconds": time.perf_counter() - t_all,
    }
    what = f"a random {n_sys:,} of the 21,489 systems (seed 0, stratified by size)" if args.subset else "all 21,489 systems"
    lines = [
        "# pcids screen: scaling (issue 14)", "",
        f"Palette `glass-formers:20` ({', '.join(palette)}), systems of 3-5 elements, G = 36, K = 105 GPa, "
        f"GFA check on, coarse step 5 at.%, ranked as `pcids design` ranks; timed: {what}, in one job as `pcids screen "
        "--out DIR --top 0` runs it (parts and tables written). Coarse screen only (no refinement) unless said.", "",
        "| workers | wall s | systems/s/worker | worker CPU s | client CPU s | task compute s (3 / 4 / 5 el.) | max RSS per worker (MB) | load before -> after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [(f"{w} local", r, w) for w, r in runs.items()] + ([("2 via --scheduler", sched, 2)] if sched else [])
    for label, r, w in rows:
        cs = r["compute_seconds_by_size"]
        lines.append(
            f"| {label} | {r['seconds']:.1f} | {n_sys / r['seconds'] / w:.1f} | {r['worker_cpu_seconds']:.1f} | {r['client_cpu_seconds']:.1f} | "
            f"{cs[3]:.1f} / {cs[4]:.1f} / {cs[5]:.1f} | {', '.join(f'{m:.0f}' for m in r['worker_max_rss_mb'])} | "
            f"{r['load_before']:.1f} -> {r['load_after']:.1f} |"
        )
    lines += [
        "",
        f"Speed-up {min(workers)} -> {max(workers)} workers: **{speedup:.2f}x** (parallel efficiency {eff:.2f}); "
        f"same ranking from both: {same['same_ranking']} (same best compositions: {same['same_best']}, "
        f"largest relative score difference {same['max_rel_score_diff']:.2g} over {same['n']} systems)."
        + ("" if not same_sched else f" Through --scheduler (dask scheduler + 2 dask worker processes): same ranking as local {same_sched['same_ranking']}, "
           f"same best compositions {same_sched['same_best']}, largest relative score difference {same_sched['max_rel_score_diff']:.2g}."),
        f"Worker CPU: {', '.join(f'{w} worker(s) {c:.1f} s' for w, c in cpu.items())} (ratio {cpu[max(workers)] / cpu[min(workers)]:.2f}); "
        f"client CPU: {', '.join(f'{w} worker(s) {c:.1f} s' for w, c in client_cpu.items())} ({tasks} tasks). "
        "On 2 cores with 2 workers, any CPU beyond the tasks' (the client, other jobs on the box) comes out of the speed-up.",
        "Local cluster start-up with model loading: " + ", ".join(f"{w} worker(s) {r['startup_seconds']:.1f} s" for w, r in runs.items()) + ".",
    ]
    if "refine" in w2:
        lines.append(f"Refining the best {w2['refine']['systems']} systems with `design` (h = 1) on {max(workers)} workers: {w2['refine']['seconds']:.1f} s.")
    lines += [
        "", "Per-system cost on one worker (its wall time shared out by task compute time): " + ", ".join(f"{s} elements {1000 * c:.1f} ms" for s, c in cost.items())
        + "; task compute alone: " + ", ".join(f"{s} elements {1000 * c:.1f} ms" for s, c in compute_cost.items())
        + "; worker CPU: " + ", ".join(f"{s} elements {1000 * c:.1f} ms" for s, c in cpu_cost.items()) + ".", "",
        f"On paper (per-system costs above, from wall time and from CPU time; the measured {max(workers)}-worker efficiency "
        "(of wall time; of CPU time: the 1-worker / 2-worker CPU ratio) assumed at 16 and 256 workers, and never faster than "
        f"the client, which spent {1000 * client_per_batch:.0f} ms of CPU per finished task {'through --scheduler' if sched else 'with its local scheduler and nannies'} "
        f"(the 40-element screen is {n_batches(40):,} tasks at the default --batch-points: a larger one lowers that floor on a big cluster):", "",
        "| screen | systems | tasks | 1 worker | 16 workers | 256 workers |", "|---|---|---|---|---|---|",
    ]
    for label, table in (("wall", est), ("CPU", est_cpu)):
        for n_pal, e in table.items():
            h = e["hours"]
            lines.append(f"| {n_pal} elements, 3-5 (from {label}) | {e['systems']:,} | {e['batches']:,} | {h[1]:.2f} h | {60 * h[16]:.1f} min | {60 * h[256]:.1f} min |")
    lines += ["", f"Command: `python benchmarks/screen_scaling.py {' '.join(sys.argv[1:])}` (on 2 cores; read the load column: "
              "anything else running takes its CPU out of the speed-up)."]
    write(args.name, payload, "\n".join(lines))


if __name__ == "__main__":
    main()
