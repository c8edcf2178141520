"""Selection of the design ranking's weights (issue 12): capture each held-out alloy's pool once,
re-rank it offline under every setting of a grid, and score best of 5 like the judge.

For every held-out alloy of ``design_recovery``'s folds (seed 1 or 2: selection splits; the
judge reports seed 0), run ``design`` once at the current defaults (fold models, leakage guard)
and keep its explored pool (lattice compositions with P(targets), P(GFA), status), the reference
glasses (projected at.%, base weights, the measured moduli's error to the targets) and the
predictor's composition. Then, per setting of (bandwidth b, property scale tau, unmeasured weight
q, plausibility weight w_p, GFA weight w_g, predictor weight w_a, min distance), rank the pool as
``pcids.design.ranking`` does

    status, then  log P(targets) + w_p log density_tau,q,b + w_g log P(GFA) - w_a L1(x, predictor) / 10

pick the diverse top 5 and take the L1 of the closest to the real alloy. The pool is capped
at the ``CAP`` rows of best status and P(targets) (a re-ranking never reaches deeper rows in
practice: the picks come from the first few hundred).

    python benchmarks/screens/design_ranking_grid.py --seed 1 [--limit N]

Writes benchmarks/results/screens/design_ranking_grid_seed<k>.json/.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import time
import warnings
from pathlib import Path

import _setup  # noqa: F401  (puts benchmarks/ on the path)
import numpy as np
from pcids.design.ranking import Plausibility, likelihood_score

import design_recovery as dr
from _setup import RESULTS

CAP = 4000
GRID = {
    "bandwidth": [5.0, 8.0],
    "property_scale": [np.inf],
    "unmeasured_weight": [1.0],
    "plausibility_weight": [0.5, 1.0],
    "gfa_weight": [0.5, 1.0],
    "predictor_weight": [0.5, 1.0, 2.0],
    "min_distance": [8.0, 10.0],
    "status_first": [0.0],  # 1: the hard order (target and GFA met first); 0: the score alone
    "portfolio": [0.0, 1.0],  # 1: picks alternate between the order with the predictor prior and without
    "first_safe": [0.0, 1.0],  # 1: the first pick is the best-scored one meeting target and GFA
}


def capture(seed: int, protocol: str, limit: int | None, log=print, reuse: bool = False) -> list[dict]:
    """One design per held-out alloy -> its pool and references (cached beside the fold models)."""
    from pcids.composition import Composition
    from pcids.datasets import load_gfa
    from pcids.design import design
    from pcids.design.known import default_glass_data, glass_reference
    from pcids.design.objectives import Objective
    from pcids.design.result import STATUS
    from pcids.errors import ExtrapolationWarning

    df = dr.elastic_frame()
    gfa_all = load_gfa()
    key = dr.rows_key(design, {"capture": CAP}, False, limit)
    out: list[dict] = []
    for k, (tr, te) in enumerate(dr.folds(df, protocol, seed)):
        train_df, test_df = df.iloc[tr], df.iloc[te]
        test_df = test_df[test_df["G"].notna() & test_df["K"].notna()]
        if limit is not None and limit < len(test_df):
            test_df = test_df.sample(n=limit, random_state=1000 * seed + k).sort_index()
        gfa_df = dr.gfa_training_frame(gfa_all, df.iloc[te], protocol)
        fdir = dr.fold_dir(protocol, seed, k, train_df, gfa_df)
        path = fdir / f"pools_{key}.pkl"
        old = sorted(fdir.glob("pools_*.pkl"), key=lambda f: f.stat().st_mtime) if reuse else []
        if path.exists() or old:  # --reuse: the first pools captured, whatever the source since
            out += pickle.loads((path if path.exists() else old[0]).read_bytes())
            continue
        models = dr.fold_models(protocol, seed, k, train_df, gfa_df, log=log)
        fold = []
        t0 = time.perf_counter()
        for _, r in test_df.iterrows():
            els = dr._elements(r["formula_as_written"])
            G, K = float(r["G"]), float(r["K"])
            truth = Composition.from_formula(r["formula"])
            with warnings.catch_warnings(), dr.training_data_only(train_df, gfa_df):
                warnings.simplefilter("ignore")
                try:
                    res = design(els, {"G": G, "K": K}, forward=models[0], inverse=models[1], gfa=models[2], top_k=10, data=train_df)
                except Exception as exc:  # noqa: BLE001 - recorded as a miss
                    log(f"  {r['formula']}: {type(exc).__name__}: {exc}")
                    continue
                ref = glass_reference(default_glass_data(), els)
            ex = res.explored
            ex = ex.sort_values(["status", "p_target"], ascending=[True, False], kind="stable").head(CAP)
            codes = {s: i for i, s in enumerate(STATUS)}
            A0 = next((t["composition"] for t in res.trace if t["step"] == "predictor"), None)
            obj = Objective({"G": G, "K": K})
            fold.append({
                "fold": k, "alloy": r["formula"], "elements": els,
                "truth": np.array([truth.get(e, 0.0) for e in els]),
                "A": ex[els].to_numpy(float), "p_target": ex["p_target"].to_numpy(float), "p_gfa": ex["p_gfa"].to_numpy(float),
                "error": ex["error"].to_numpy(float), "status": ex["status"].map(codes).fillna(2).to_numpy(int),
                "R": ref.R, "w": ref.weights, "meas_err": obj.error(ref.measured["G"], ref.measured["K"]) if len(ref.R) else np.zeros(0),
                "A0": None if A0 is None else np.array([Composition.from_formula(A0).get(e, 0.0) for e in els]),
                "shipped_best5": float(min(np.abs(res.candidates[els].to_numpy(float)[:5] - np.array([truth.get(e, 0.0) for e in els])).sum(axis=1))),
            })
        path.write_bytes(pickle.dumps(fold))
        log(f"  {protocol} fold {k}: {len(fold)} pools in {time.perf_counter() - t0:.0f} s")
        out += fold
    return out


def _picks(A: np.ndarray, order: np.ndarray, k: int, d: float, other: np.ndarray | None = None, first: int | None = None) -> np.ndarray:
    """Diverse picks down ``order``; with ``other``, alternately down each (the same spacing rule);
    ``first``: a row picked before all."""
    from pcids.design.ranking import diverse_picks

    if other is None:
        other = order
    picked: list[int] = [] if first is None else [int(first)]
    orders = [order[:800], other[:800]]
    pos = [0, 0]
    dd = d
    while len(picked) < k and dd > 0.5:
        progressed = False
        for o in (0, 1):
            if len(picked) >= k:
                break
            while pos[o] < len(orders[o]):
                j = orders[o][pos[o]]
                pos[o] += 1
                if all(np.abs(A[j] - A[i]).sum() >= dd - 1e-9 for i in picked):
                    picked.append(j)
                    progressed = True
                    break
        if not progressed:
            dd /= 2
            pos = [0, 0]
    return np.array(picked, dtype=np.int64)


def grid_scores(pools: list[dict]) -> tuple[list[dict], np.ndarray]:
    """best-of-5 L1 per setting (rows) and pool (columns)."""

    def conditional_weights(w, e, tau, q):  # the measured-moduli kernel (tried, not shipped)
        return w * np.maximum(np.where(np.isfinite(e), np.exp(-0.5 * (np.nan_to_num(e) / tau) ** 2), q), 1e-300)

    settings = [dict(zip(GRID, v)) for v in itertools.product(*GRID.values())]
    out = np.full((len(settings), len(pools)), np.nan)
    intol = np.full((len(settings), len(pools)), np.nan)
    dens_keys = sorted({(s["bandwidth"], s["property_scale"], s["unmeasured_weight"]) for s in settings})
    for j, p in enumerate(pools):
        A, truth = p["A"], p["truth"]
        if len(A) == 0:
            continue
        dist_truth = np.abs(A - truth).sum(axis=1)
        logdens = {}
        for b, tau, q in dens_keys:  # design's plausibility, with the (tried) conditional weights where asked
            w = conditional_weights(p["w"], p["meas_err"], tau if np.isfinite(tau) else 1e9, q if np.isfinite(tau) else 1.0)
            logdens[(b, tau, q)] = Plausibility(p["R"], w, b).log_density(A)
        L1 = np.abs(A - p["A0"]).sum(axis=1) if p["A0"] is not None else np.zeros(len(A))

        def score_of(s, predictor_weight, ck):  # design's likelihood score
            return likelihood_score(p["p_target"], logdens[ck[:3]], p["p_gfa"], s["plausibility_weight"], s["gfa_weight"], L1, predictor_weight)

        cache: dict = {}
        for i, s in enumerate(settings):
            if not np.isfinite(s["property_scale"]) and s["unmeasured_weight"] != 1.0:
                continue  # unconditional: q is meaningless
            ck = (s["bandwidth"], s["property_scale"], s["unmeasured_weight"], s["plausibility_weight"], s["gfa_weight"], s["predictor_weight"], s["status_first"])
            if ck not in cache:
                score = score_of(s, s["predictor_weight"], ck)
                cache[ck] = np.lexsort((p["error"], -score, p["status"] * s["status_first"]))
            other = None
            if s["portfolio"]:
                ck0 = (*ck[:5], 0.0, ck[6])
                if ck0 not in cache:
                    score0 = score_of(s, 0.0, ck)
                    cache[ck0] = np.lexsort((p["error"], -score0, p["status"] * s["status_first"]))
                other = cache[ck0]
            first = None
            if s["first_safe"]:
                safe = cache[ck][p["status"][cache[ck]] == 0]
                first = safe[0] if len(safe) else None
            sel = _picks(A, cache[ck], 5, s["min_distance"], other, first)
            out[i, j] = dist_truth[sel].min()
            intol[i, j] = float(p["error"][sel[0]] <= 0.02)
    grid_scores.top1_in_tolerance = np.nanmean(intol, axis=1)
    return settings, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--protocols", default="random,grouped")
    ap.add_argument("--reuse", action="store_true", help="re-rank the pools captured first, even by older pcids source")
    args = ap.parse_args(argv)
    if args.seed == 0:
        raise SystemExit("seed 0 is the reported split: select on seeds 1 and 2")
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    t0 = time.perf_counter()
    res = {}
    for proto in args.protocols.split(","):
        pools = capture(args.seed, proto, args.limit, reuse=args.reuse)
        settings, S = grid_scores(pools)
        res[proto] = {"settings": settings, "median": np.nanmedian(S, axis=1).tolist(), "mean": np.nanmean(S, axis=1).tolist(),
                      "shipped_median": float(np.median([p["shipped_best5"] for p in pools])), "n": len(pools),
                      "top1_in_tolerance": grid_scores.top1_in_tolerance.tolist()}
    protos = list(res)
    med = np.array([res[p]["median"] for p in protos])
    # the setting with the smallest sum of medians over the protocols (ties: sum of means)
    mean = np.array([res[p]["mean"] for p in protos])
    ok = np.all(np.isfinite(med), axis=0)
    order = np.lexsort((mean.sum(axis=0), np.where(ok, med.sum(axis=0), np.inf)))
    lines = [f"# Design ranking grid, seed {args.seed} (selection split), limit {args.limit}", "",
             "best of 5 median / mean L1 (at.%) per protocol; the 25 best settings by the sum of medians.", "",
             "| " + " | ".join(GRID) + " | " + " | ".join(protos) + " |", "|" + "---|" * (len(GRID) + len(protos))]
    for i in order[:25]:
        s = res[protos[0]]["settings"][i]
        lines.append("| " + " | ".join(f"{s[g]:g}" for g in GRID) + " | " + " | ".join(f"{res[p]['median'][i]:.1f} / {res[p]['mean'][i]:.1f} ({100 * res[p]['top1_in_tolerance'][i]:.0f} % in tol.)" for p in protos) + " |")
    lines += ["", "Captured pools at the defaults then in the code; their own best of 5 (median): "
              + ", ".join(f"{p} {res[p]['shipped_median']:.1f} (n = {res[p]['n']})" for p in protos),
              "", f"Command: `python benchmarks/screens/design_ranking_grid.py --seed {args.seed}" + (f" --limit {args.limit}" if args.limit else "") + "`",
              f"Wall {time.perf_counter() - t0:.0f} s, load at the end {tuple(round(x, 2) for x in os.getloadavg())}"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"design_ranking_grid_seed{args.seed}" + (f"_limit{args.limit}" if args.limit else "")
    (RESULTS / f"{name}.json").write_text(json.dumps({"grid": GRID, "results": res}, default=float) + "\n")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
