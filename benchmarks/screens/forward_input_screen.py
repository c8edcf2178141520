"""Screen candidate inputs for the forward ensembles on *selection* folds (issue 3).

Each variant is a set of composition-weighted means, any names of
:data:`pcids.descriptors.WEIGHTED_MEANS`: among them the weighted means of
the elemental bulk and shear moduli (``K_el``, ``G_el``), the
rule-of-mixtures estimates of Wang's review of metallic-glass elasticity
(Prog. Mater. Sci. 57 (2012) 487); their sources and fills are in
``scripts/build_elements.py``.

Selection discipline: run on seeds other than 0 (the reported folds of
``forward_accuracy.py``). The shipped ensemble settings are used, without
sigma calibration (R² only).

    python benchmarks/screens/forward_input_screen.py --seeds 1,2 --protocols random,grouped \
        --variants VEC,Tm,chi,r,rho VEC,Tm,chi,r,rho,K_el,G_el VEC,Tm,chi,r,K_el,G_el

Writes benchmarks/results/screens/forward_input_screen[_NAME].json and .md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _setup import write

from pcids.datasets import data_hash, load_elastic
from pcids.descriptors import WEIGHTED_MEANS, WeightedMeans
from pcids.evaluation import grouped_kfold, mean_std, random_splits, regression_metrics
from pcids.models.ensemble import ForwardEnsemble



def run(variants: list[tuple[str, ...]], seeds: list[int], protocols: list[str], targets: list[str], members: int) -> dict:
    df = load_elastic()
    X = {v: WeightedMeans(v).transform(df["formula"]) for v in variants}
    out: dict = {"data_hash": data_hash("elastic"), "members": members, "rows": []}
    for target in targets:
        ok = np.isfinite(df[target].to_numpy())
        y = df[target].to_numpy()[ok]
        groups = df["system"].to_numpy()[ok]
        for seed in seeds:
            for proto in protocols:
                splits = random_splits(len(y), 10, 0.2, seed) if proto == "random" else grouped_kfold(groups, 5, seed)
                for v in variants:
                    t0 = time.time()
                    r2 = []
                    for tr, te in splits:
                        ens = ForwardEnsemble(n_members=members, calibration_folds=0, seed=0, target=target)
                        r2.append(regression_metrics(y[te], ens.fit(X[v][ok][tr], y[tr]).predict(X[v][ok][te]))["r2"])
                    row = {"target": target, "seed": seed, "protocol": proto, "inputs": ",".join(v),
                           "r2": mean_std(r2), "r2_per_split": r2, "seconds": time.time() - t0}
                    out["rows"].append(row)
                    print(target, seed, proto, row["inputs"], f"{np.mean(r2):.4f}", flush=True)
    return out


def markdown(res: dict) -> str:
    lines = ["# Forward inputs screened on selection folds (mean test R² over splits / folds)", "",
             "| target | seed | protocol | inputs | R² | per split |", "|---|---|---|---|---|---|"]
    for r in res["rows"]:
        per = " ".join(f"{x:.3f}" for x in r["r2_per_split"])
        lines.append(f"| {r['target']} | {r['seed']} | {r['protocol']} | {r['inputs']} | {r['r2']['mean']:.4f} ± {r['r2']['std']:.4f} | {per} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", required=True, help="comma-separated inputs, e.g. VEC,Tm,chi,r,rho,K_el")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--protocols", default="random,grouped")
    ap.add_argument("--targets", default="G,K")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--name", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    variants = [tuple(v.split(",")) for v in args.variants]
    for v in variants:
        unknown = [f for f in v if f not in WEIGHTED_MEANS]
        if unknown:
            ap.error(f"unknown input(s) {unknown}")
    seeds = [int(s) for s in args.seeds.split(",")]
    if 0 in seeds:
        print("warning: seed 0 gives the reported folds of forward_accuracy.py; do not select on it")
    res = run(variants, seeds, args.protocols.split(","), args.targets.split(","), args.members)
    write("forward_input_screen" + (f"_{args.name}" if args.name else ""), res, markdown(res))


if __name__ == "__main__":
    main()
