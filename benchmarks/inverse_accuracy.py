"""Inverse-model accuracy (issue 4): DKIDN, RIDN, improvements and baselines.

Run: python benchmarks/inverse_accuracy.py [--splits 10] [--seeds 0] [--epochs 1000]
                                          [--grouped-folds 5] [--variants ...] [--name STEM]
     python benchmarks/inverse_accuracy.py --figures-only   # Figs. 10-12 from the saved predictions

Protocols (all on ``elastic_training_data()``, alloys with both G and K):
* random: ``--splits`` random 80/20 splits (``random_splits(seed=0)``), each
  network variant trained with every seed in ``--seeds``;
* grouped: ``grouped_kfold`` on the alloy system (test element sets never occur
  in training), one seed.

Variants: ``slot_order="given"`` is the paper's protocol (elements in the
order written, base element first: the input then tells the network which
element is the largest, information a user naming elements does not give);
``typical`` orders elements by their median training at.%, so predictions do
not depend on input order. Baselines on the same splits: equal fractions;
nearest training alloy of the same element set (mean of that set's training
alloys' fractions is *not* used: the one closest in standardised (G, K);
equal fractions when the set is unseen); 1-NN on the network's standardised
inputs Y (in the same slot order), its fractions copied slot by slot onto the
test alloy's real slots and renormalised to 100.

Metrics: :func:`pcids.evaluation.inverse_metrics` (both per-sample R²
definitions, Eq. 12 RMSE, per-element RMSE, |sum-100|, 1-D Wasserstein of the
matrix entries). Writes benchmarks/results/inverse_accuracy.{json,md} and the
predictions used by the figures to inverse_predictions.json.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from _common import RESULTS, write
from pcids.evaluation import grouped_kfold, inverse_metrics, mean_std, per_sample_r2, random_splits, regression_metrics
from pcids.models.inverse import N_SLOTS, InverseModel, _apply_perm, elastic_training_data

PAPER_DKIDN = dict(loss="dkidn", hidden_layer_sizes=(210,) * 3, dropout=0.2, lr=0.01, alpha=0.2)
PAPER_RIDN = dict(loss="ridn", hidden_layer_sizes=(310,) * 4, dropout=0.2, lr=0.01)
VARIANTS = {
    "DKIDN given": dict(PAPER_DKIDN, slot_order="given"),
    "RIDN given": dict(PAPER_RIDN, slot_order="given"),
    "DKIDN typical": dict(PAPER_DKIDN, slot_order="typical"),
    "RIDN typical": dict(PAPER_RIDN, slot_order="typical"),
    "softmax+props typical": dict(PAPER_DKIDN, slot_order="typical", head="softmax", features="properties"),
    "softmax+props given": dict(PAPER_DKIDN, slot_order="given", head="softmax", features="properties"),
    "softmax+props typical x3": dict(PAPER_DKIDN, slot_order="typical", head="softmax", features="properties",
                                     n_ensemble=3),
}
KEYS = ["r2_all7_mean", "r2_real_mean", "r2_real_median", "rmse_eq12", "rmse_per_element", "sum_abs_dev", "wasserstein"]


def equal_fractions(Y):
    real = Y[:, 2:] > 0
    return np.where(real, 100.0 / real.sum(1, keepdims=True), 0.0)


def _renorm(P, real):
    P = np.where(real, P, 0.0)
    s = P.sum(1, keepdims=True)
    return np.where(s > 0, P / np.where(s > 0, s, 1) * 100.0, equal_fractions_from(real))


def equal_fractions_from(real):
    return np.where(real, 100.0 / real.sum(1, keepdims=True), 0.0)


def same_set_nearest(Ytr, Atr, systems_tr, Yte, systems_te, A_lists_tr, lists_tr, lists_te):
    """Closest (standardised G, K) training alloy with the same element set; equal fractions if none."""
    mu, sd = Ytr[:, :2].mean(0), Ytr[:, :2].std(0)
    out = equal_fractions(Yte)
    for i, s in enumerate(systems_te):
        idx = np.flatnonzero(systems_tr == s)
        if len(idx) == 0:
            continue
        d = (((Ytr[idx, :2] - Yte[i, :2]) / sd) ** 2).sum(1)
        j = idx[np.argmin(d)]
        frac = dict(zip(lists_tr[j], Atr[j]))
        out[i, : len(lists_te[i])] = [frac[e] for e in lists_te[i]]
    return out


def one_nn(Ytr, Atr, Yte, slot_order):
    """1-NN on standardised Y in the network's slot order, copied slot by slot and renormalised."""
    helper = InverseModel(slot_order=slot_order)
    helper._learn_order(Ytr, Atr)
    Ptr, Pte = helper._permutation(Ytr), helper._permutation(Yte)
    Yt, At = _apply_perm(Ytr, Atr, Ptr)
    Ye, _ = _apply_perm(Yte, None, Pte)
    mu, sd = Yt.mean(0), Yt.std(0)
    sd = np.where(sd > 0, sd, 1)
    d = ((((Ye - mu) / sd)[:, None, :] - ((Yt - mu) / sd)[None]) ** 2).sum(-1)
    P = _renorm(At[d.argmin(1)], Ye[:, 2:] > 0)
    out = np.zeros_like(P)
    np.put_along_axis(out, Pte, P, axis=1)
    return out


def evaluate(protocol, splits, seeds, variants, epochs, data, store_first=False):
    Y, A, lists, df = data
    systems = df["system"].to_numpy()
    nel = df["n_elements"].to_numpy()
    rows, per_n, preds, timing = [], {}, {}, {}
    for s, (tr, te) in enumerate(splits):
        real = Y[te, 2:] > 0
        ltr, lte = [lists[i] for i in tr], [lists[i] for i in te]
        cand = {
            "equal fractions": (equal_fractions(Y[te]), None),
            "same-set nearest": (same_set_nearest(Y[tr], A[tr], systems[tr], Y[te], systems[te], None, ltr, lte), None),
            "1-NN given": (one_nn(Y[tr], A[tr], Y[te], "given"), None),
            "1-NN typical": (one_nn(Y[tr], A[tr], Y[te], "typical"), None),
        }
        for name in variants:
            for seed in seeds:
                t0 = time.perf_counter()
                model = InverseModel(**VARIANTS[name], epochs=epochs, seed=seed).fit(Y[tr], A[tr])
                timing.setdefault(name, []).append(time.perf_counter() - t0)
                cand[f"{name}|{seed}"] = (model.predict(Y[te]), model)
        for key, (P, model) in cand.items():
            name, _, seed = key.partition("|")
            m = inverse_metrics(A[te], P, real)
            rows.append({"protocol": protocol, "split": s, "model": name, "seed": int(seed or 0), **m})
            r_real, r_all = per_sample_r2(A[te], P, real), per_sample_r2(A[te], P)
            for n in np.unique(nel[te]):
                sel = nel[te] == n
                d = per_n.setdefault(name, {}).setdefault(int(n), {"r_real": [], "r_all": [], "t": [], "p": []})
                d["r_real"] += r_real[sel].tolist()
                d["r_all"] += r_all[sel].tolist()
                d["t"] += A[te][sel][real[sel]].tolist()
                d["p"] += P[sel][real[sel]].tolist()
            if s == 0 and store_first and not seed.strip("0"):
                preds[name] = {"test_index": te.tolist(), "pred": P.tolist(), "true": A[te].tolist(),
                               "n_elements": nel[te].tolist()}
            if model is not None and name.endswith("given") and s == 0 and seed in ("", "0"):
                # how much the raw prediction moves when the same alloy's elements are reordered
                rng = np.random.default_rng(0)
                perm = np.array([np.r_[rng.permutation(k), np.arange(k, N_SLOTS)] for k in real.sum(1)])
                Yp, _ = _apply_perm(Y[te], None, perm)
                Pp = np.zeros_like(P)
                np.put_along_axis(Pp, perm, model.predict(Yp), axis=1)
                preds.setdefault("order_sensitivity", {})[name] = {
                    "mean_L1_change_at%": float(np.abs(Pp - P).sum(1).mean()),
                    "max_L1_change_at%": float(np.abs(Pp - P).sum(1).max()),
                    "metrics_permuted": inverse_metrics(A[te], Pp, real),
                }
        print(f"[{protocol}] split {s + 1}/{len(splits)} done", flush=True)
    return rows, per_n, preds, timing


def summarise(rows):
    out = {}
    for protocol in sorted({r["protocol"] for r in rows}):
        for name in dict.fromkeys(r["model"] for r in rows if r["protocol"] == protocol):
            sel = [r for r in rows if r["protocol"] == protocol and r["model"] == name]
            out.setdefault(protocol, {})[name] = {k: mean_std(r[k] for r in sel) for k in KEYS}
    return out


def per_n_table(per_n):
    out = {}
    for name, d in per_n.items():
        for n, v in sorted(d.items()):
            rr = np.array(v["r_real"])
            out.setdefault(name, {})[n] = {
                "count": len(v["r_all"]),
                "r2_all7_mean": float(np.nanmean(v["r_all"])),
                "r2_real_mean": float(np.nanmean(rr)) if np.isfinite(rr).any() else None,
                "pooled_parity_r2": regression_metrics(v["t"], v["p"])["r2"],
            }
    return out


def markdown(summary, per_n, timing, order_sens, args):
    L = ["# Inverse models: accuracy (issue 4)", "",
         f"`python benchmarks/inverse_accuracy.py {args}`", "",
         "R² all-7 = per-sample R² over all 7 slots (padded zeros included; reproduces the paper's figures). "
         "R² real = per-sample R² over the alloy's real elements only (equal-fraction alloys undefined, excluded). "
         "RMSE Eq. 12 = sqrt(mean_i ||A_i - Â_i||²) in at.%; per-element RMSE over real entries. "
         "W = 1-D Wasserstein distance between the entries of the true and predicted n x 7 matrices (at.%). "
         "Mean ± std over splits (and seeds).", ""]
    for protocol, models in summary.items():
        L += [f"## {protocol}", "", "| model | R² all-7 | R² real | R² real median | RMSE Eq.12 | RMSE/element | |sum-100| | W |",
              "|---|---|---|---|---|---|---|---|"]
        for name, m in models.items():
            f = lambda k: f"{m[k]['mean']:.3f} ± {m[k]['std']:.3f}"  # noqa: E731
            L.append(f"| {name} | {f('r2_all7_mean')} | {f('r2_real_mean')} | {f('r2_real_median')} | "
                     f"{m['rmse_eq12']['mean']:.2f} ± {m['rmse_eq12']['std']:.2f} | {m['rmse_per_element']['mean']:.2f} | "
                     f"{m['sum_abs_dev']['mean']:.2f} | {m['wasserstein']['mean']:.2f} |")
        L.append("")
    for protocol, table in per_n.items():
        L += [f"## By number of elements ({protocol}, pooled over splits)", "",
              "| model | n | count | R² all-7 | R² real | pooled parity R² |", "|---|---|---|---|---|---|"]
        for name, d in table.items():
            for n, v in d.items():
                rr = "n/a" if v["r2_real_mean"] is None else f"{v['r2_real_mean']:.3f}"
                L.append(f"| {name} | {n} | {v['count']} | {v['r2_all7_mean']:.3f} | {rr} | {v['pooled_parity_r2']:.3f} |")
        L.append("")
    L += ["## Order sensitivity (random protocol, split 0: elements of each test alloy randomly permuted)", "",
          "| model | mean L1 change (at.%) | max | R² real after permuting |", "|---|---|---|---|"]
    for name, v in order_sens.items():
        L.append(f"| {name} | {v['mean_L1_change_at%']:.1f} | {v['max_L1_change_at%']:.1f} | {v['metrics_permuted']['r2_real_mean']:.3f} |")
    L += ["", "## Training time per fit (s, one thread, shared box)", "", "| model | mean | n fits |", "|---|---|---|"]
    for name, t in timing.items():
        L.append(f"| {name} | {np.mean(t):.1f} | {len(t)} |")
    return "\n".join(L)


def ambiguity(dG: float = 1.0, dK: float = 3.0) -> None:
    """How many-to-one the data already are: same-system alloys with (nearly) the same G and K.

    For every pair of alloys of the same element set whose G differ by at most
    ``dG`` and K by at most ``dK`` GPa (about the scatter between labs), the
    L2 distance of their fraction vectors: no inverse model can tell such
    alloys apart, so their distance is an error floor it cannot beat.
    """
    Y, A, lists, df = elastic_training_data(order="as_written")
    systems = df["system"].to_numpy()
    dists, alloys = [], set()
    for i in range(len(Y)):
        for j in range(i + 1, len(Y)):
            if systems[i] != systems[j] or abs(Y[i, 0] - Y[j, 0]) > dG or abs(Y[i, 1] - Y[j, 1]) > dK:
                continue
            fi, fj = dict(zip(lists[i], A[i])), dict(zip(lists[j], A[j]))
            dists.append(float(np.sqrt(sum((fi[e] - fj[e]) ** 2 for e in fi))))
            alloys |= {i, j}
    d = np.array(dists)
    out = {"dG_GPa": dG, "dK_GPa": dK, "n_alloys": int(len(Y)), "n_pairs": int(len(d)),
           "alloys_in_a_pair": len(alloys), "pair_L2_median_at%": float(np.median(d)),
           "pair_L2_mean_at%": float(d.mean()), "pair_L2_rms_at%": float(np.sqrt(np.mean(d**2))),
           "pairs_L2_over_9_at%": int((d > 9).sum())}
    md = ["# Inverse problem: how many-to-one are the data?", "",
          "`python benchmarks/inverse_accuracy.py --ambiguity`", "",
          f"Pairs of alloys of the same element set with |dG| <= {dG} GPa and |dK| <= {dK} GPa:", "",
          "| quantity | value |", "|---|---|"] + [f"| {k} | {v:.2f} |" if isinstance(v, float) else f"| {k} | {v} |"
                                                 for k, v in out.items()]
    write("inverse_ambiguity", out, "\n".join(md))


def verdict(a: str = "DKIDN given", b: str = "RIDN given", names=("inverse_accuracy", "inverse_seeds")) -> None:
    """Paired comparison of two variants over every (split, seed) of the saved random-split runs."""
    rows = [r for n in names if (RESULTS / f"{n}.json").exists()
            for r in json.loads((RESULTS / f"{n}.json").read_text())["rows"] if r["protocol"] == "random 80/20"]
    pairs: dict = {}
    for r in rows:
        if r["model"] in (a, b):
            pairs.setdefault((r["split"], r["seed"]), {})[r["model"]] = r
    pairs = {k: v for k, v in pairs.items() if len(v) == 2}
    out = {"a": a, "b": b, "runs": list(names), "n_pairs": len(pairs), "metrics": {}}
    md = [f"# {a} vs {b}: paired over {len(pairs)} (split, seed) pairs", "",
          "`python benchmarks/inverse_accuracy.py --verdict` (reads " + ", ".join(f"{n}.json" for n in names) + ")", "",
          f"| metric | mean({a} - {b}) | sd | {a} better in |", "|---|---|---|---|"]
    for k in ("r2_all7_mean", "r2_real_mean", "rmse_eq12", "rmse_per_element", "sum_abs_dev", "wasserstein"):
        d = np.array([v[a][k] - v[b][k] for v in pairs.values()])
        better = int((d > 0).sum() if k.startswith("r2") else (d < 0).sum())
        out["metrics"][k] = {"mean_diff": float(d.mean()), "sd": float(d.std(ddof=1)), "a_better": better}
        md.append(f"| {k} | {d.mean():+.4f} | {d.std(ddof=1):.4f} | {better}/{len(d)} |")
    write("inverse_verdict", out, "\n".join(md))


def figures() -> None:
    """Figs. 10-12 from the split-0 predictions saved by the last full run."""
    from pcids.plots.inverse import plot_abs_error, plot_cloud, plot_parity_by_n_elements

    preds = json.loads((RESULTS / "inverse_predictions.json").read_text())
    first = next(iter(preds.values()))
    true, n_el = np.array(first["true"]), np.array(first["n_elements"])
    order = np.lexsort((-true[:, 0], n_el))  # group the rows by element count, like the paper's matrices
    nets = {k: np.array(v["pred"])[order] for k, v in preds.items() if k in ("DKIDN given", "RIDN given")}
    ours = {k: np.array(v["pred"])[order] for k, v in preds.items() if k.startswith("softmax+props typical")}
    plot_cloud(true[order], {**nets, **ours}, RESULTS / "inverse_fig10_cloud.png")
    plot_abs_error(true[order], {**nets, **ours}, RESULTS / "inverse_fig11_abs_error.png")
    plot_parity_by_n_elements(true[order], {**nets, **ours}, n_el[order], RESULTS / "inverse_fig12_parity.png")
    print("wrote", *(RESULTS / f for f in ("inverse_fig10_cloud.png", "inverse_fig11_abs_error.png", "inverse_fig12_parity.png")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--grouped-folds", type=int, default=5)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--name", default="inverse_accuracy", help="Results file stem in benchmarks/results/.")
    ap.add_argument("--grouped-variants", nargs="+", default=["DKIDN given", "DKIDN typical", "softmax+props typical"])
    ap.add_argument("--figures-only", action="store_true", help="Only redraw Figs. 10-12 from the saved predictions.")
    ap.add_argument("--ambiguity", action="store_true", help="Only measure same-system (G, K) twins (the error floor).")
    ap.add_argument("--verdict", action="store_true", help="Only the paired DKIDN vs RIDN comparison of saved runs.")
    args = ap.parse_args()
    if args.verdict:
        verdict()
        return
    if args.ambiguity:
        ambiguity()
        return
    if args.figures_only:
        figures()
        return
    torch.set_num_threads(1)
    data = elastic_training_data(order="as_written")
    Y, A, lists, df = data
    t0 = time.time()
    rows, per_n, preds, timing = evaluate("random 80/20", random_splits(len(Y), args.splits, 0.2, 0), args.seeds,
                                          args.variants, args.epochs, data, store_first=True)
    order_sens = preds.pop("order_sensitivity", {})
    per_n_all = {"random 80/20": per_n_table(per_n)}
    if args.grouped_folds:
        g_rows, g_per_n, _, g_timing = evaluate(f"grouped by system ({args.grouped_folds} folds)",
                                                grouped_kfold(df["system"], args.grouped_folds, seed=0), [args.seeds[0]],
                                                args.grouped_variants, args.epochs, data)
        rows += g_rows
        per_n_all[f"grouped ({args.grouped_folds} folds)"] = per_n_table(g_per_n)
    summary = summarise(rows)
    argstr = " ".join(f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                      for k, v in vars(args).items() if k not in ("figures_only", "ambiguity", "verdict"))
    md = markdown(summary, per_n_all, timing, order_sens, argstr)
    write(args.name, {"args": vars(args), "runtime_s": time.time() - t0, "summary": summary,
                               "by_n_elements": per_n_all, "order_sensitivity": order_sens,
                               "fit_time_s": {k: float(np.mean(v)) for k, v in timing.items()}, "rows": rows}, md)
    if args.name == "inverse_accuracy":
        (RESULTS / "inverse_predictions.json").write_text(json.dumps(preds) + "\n")
        figures()


if __name__ == "__main__":
    main()
