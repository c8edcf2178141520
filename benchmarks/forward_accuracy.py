"""Forward-model accuracy on honest protocols, against baselines on the same splits (issue 3).

Protocols (each target on its own measured alloys; K lacks 3):
  paper    one random 80/20 split (seed 0): test and train R², RMSE
  random   10 random 80/20 splits (mean +- std)
  kfold    5-fold CV repeated 3 times (mean +- std)
  grouped  5-fold CV holding out whole alloy systems (element sets)

Models: the DNN ensemble with the shipped architecture and inputs (the
paper's four weighted means plus the mean density, ``--features``;
sigma calibrated inside each training part, so coverage is honest), the same
ensemble on the paper's four descriptors only, the paper-size network
(single, paper split only: it costs ~30-60 s per fit), and ridge, SVR, random
forest, gradient boosting on the four descriptors, gradient boosting on
RichDescriptors, and SVR and gradient boosting on the DNN's own inputs (so
the comparison is also like for like). Ridge's alpha and SVR's C, gamma, epsilon are chosen by
inner 5-fold CV on each training part, never on test folds; random forest
and gradient boosting use fixed, commonly good settings.

    python benchmarks/forward_accuracy.py            # everything (~30-60 min on a shared 2-core box)
    python benchmarks/forward_accuracy.py --protocols paper,grouped --members 3

Writes benchmarks/results/forward_accuracy.json and .md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from _common import write
import torch
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from pcids.datasets import data_hash, load_elastic
from pcids.descriptors import PAPER_FEATURES, PaperDescriptors, RichDescriptors, WeightedMeans
from pcids.evaluation import grouped_kfold, mean_std, random_splits, regression_metrics, repeated_kfold
from pcids.models.ensemble import SHIPPED_FEATURES, ForwardEnsemble
from pcids.models.forward import ForwardModel

RESULTS = Path(__file__).parent / "results"


def _gbm() -> GradientBoostingRegressor:
    # fixed, commonly good settings: an inner grid over 800-tree models costs more
    # than the whole DNN run on this shared machine
    return GradientBoostingRegressor(n_estimators=600, learning_rate=0.03, max_depth=3, subsample=0.8, random_state=0)


def _svr() -> GridSearchCV:
    return GridSearchCV(
        make_pipeline(StandardScaler(), SVR()),
        {"svr__C": [10, 100, 1000], "svr__gamma": [0.1, 0.3, 1.0], "svr__epsilon": [0.05, 0.5]},
        cv=5,
    )


def baselines() -> dict:
    """Name -> (factory, feature set)."""
    return {
        "ridge": (lambda: make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-4, 3, 30))), "paper"),
        "SVR": (_svr, "paper"),
        "random forest": (lambda: RandomForestRegressor(n_estimators=300, random_state=0, n_jobs=1), "paper"),
        "gradient boosting": (lambda: _gbm(), "paper"),
        "gradient boosting (rich)": (lambda: _gbm(), "rich"),
        "SVR (DNN inputs)": (_svr, "dnn"),
        "gradient boosting (DNN inputs)": (lambda: _gbm(), "dnn"),
    }


PAPER_DNN_ROW = "DNN ensemble (paper's 4 inputs)"
PAPER_SIZE_ROW = "DNN paper-size (single)"


def _hyperparameters(overrides: dict) -> dict:
    return json.loads(json.dumps({k: v for k, v in ForwardEnsemble(**overrides).get_params().items() if k not in ("seed", "target")}))


def _reused_rows(path: Path | None, seed: int, features: tuple[str, ...], settings: dict) -> dict:
    """Rows of an earlier run on the very same splits (same seed and data), to skip refitting them.

    Rows on the DNN's inputs are reused only if those inputs are the same; the
    paper-input DNN row only if the ensemble settings are the same too.
    """
    if path is None:
        return {}
    old = json.loads(path.read_text())
    if old["settings"]["seed"] != seed or old["settings"]["data_hash"] != data_hash("elastic"):
        raise SystemExit(f"{path}: different seed or data; its rows were not fitted on these splits")
    same_inputs = tuple(old["settings"].get("features", ())) == tuple(features)
    same_dnn = all(old["settings"].get(k) == v for k, v in settings.items())
    reusable = {name for name, (_, fs) in baselines().items() if fs != "dnn" or same_inputs} | {PAPER_SIZE_ROW}
    if same_dnn:
        reusable.add(PAPER_DNN_ROW)
    return {proto: {t: {n: r for n, r in rows.items() if n in reusable} for t, rows in by_target.items()}
            for proto, by_target in old["protocols"].items()}


def run(protocols: list[str], members: int, calibration_folds: int, paper_size: bool, seed: int, kfold_calibration_folds: int = 0,
        overrides: dict | None = None, targets: tuple[str, ...] = ("G", "K"), baselines_from: Path | None = None,
        features: tuple[str, ...] = SHIPPED_FEATURES, paper_dnn: bool = True) -> dict:
    RESULTS.mkdir(parents=True, exist_ok=True)
    overrides = overrides or {}
    dnn_settings = {
        "members": members,
        "calibration_folds": calibration_folds,
        "kfold_calibration_folds": kfold_calibration_folds,
        "ensemble_hyperparameters": _hyperparameters(overrides),
    }
    reused = _reused_rows(baselines_from, seed, tuple(features), dnn_settings)
    df = load_elastic()
    feats = {
        "paper": PaperDescriptors().transform(df["formula"]),
        "rich": RichDescriptors().transform(df["formula"]),
        "dnn": WeightedMeans(features).transform(df["formula"]),
    }
    dnn_rows = {"DNN ensemble": "dnn", **({PAPER_DNN_ROW: "paper"} if paper_dnn and tuple(features) != PAPER_FEATURES else {})}
    results: dict = {"protocols": {}, "models": {}}
    for target in targets:
        ok = np.isfinite(df[target].to_numpy())
        y = df[target].to_numpy()[ok]
        X = {k: v[ok] for k, v in feats.items()}
        groups = df["system"].to_numpy()[ok]
        splits = {
            "paper": random_splits(len(y), 1, 0.2, seed),
            "random": random_splits(len(y), 10, 0.2, seed),
            "kfold": repeated_kfold(len(y), 5, 3, seed),
            "grouped": grouped_kfold(groups, 5, seed),
        }
        for proto in protocols:
            rows: dict[str, list[dict]] = {}
            for i, (tr, te) in enumerate(splits[proto]):
                cal = kfold_calibration_folds if proto == "kfold" else calibration_folds
                for row, fs in dnn_rows.items():
                    old = reused.get(proto, {}).get(target, {}).get(row)
                    if old is not None:
                        rows.setdefault(row, []).append(old["splits"][i])
                        continue
                    t0 = time.time()
                    ens = ForwardEnsemble(n_members=members, calibration_folds=cal, seed=seed, target=target, **overrides)
                    ens.fit(X[fs][tr], y[tr])
                    mean, std = ens.predict(X[fs][te], return_std=True)
                    raw = std / ens.sigma_scale_
                    rec = {
                        "test": regression_metrics(y[te], mean),
                        "train": regression_metrics(y[tr], ens.predict(X[fs][tr])),
                        "coverage_2sigma": float(np.mean(np.abs(y[te] - mean) <= 2 * std)),
                        "raw_coverage_2sigma": float(np.mean(np.abs(y[te] - mean) <= 2 * raw)),
                        "sigma_scale": ens.sigma_scale_,
                        "seconds": time.time() - t0,
                    }
                    rows.setdefault(row, []).append(rec)
                    if proto == "paper" and row == "DNN ensemble":
                        from pcids.plots.forward import parity

                        tr_mean, tr_std = ens.predict(X[fs][tr], return_std=True)
                        parity({"test": (y[te], mean, std), "train": (y[tr], tr_mean, tr_std)}, target,
                               RESULTS / f"forward_parity_{target}.png")
                if paper_size and proto == "paper" and PAPER_SIZE_ROW in reused.get(proto, {}).get(target, {}):
                    rows.setdefault(PAPER_SIZE_ROW, []).append(reused[proto][target][PAPER_SIZE_ROW]["splits"][i])
                elif paper_size and proto == "paper":
                    t0 = time.time()
                    net = ForwardModel.paper(target, seed=seed).fit(X["paper"][tr], y[tr])
                    rows.setdefault(PAPER_SIZE_ROW, []).append(
                        {
                            "test": regression_metrics(y[te], net.predict(X["paper"][te])),
                            "train": regression_metrics(y[tr], net.predict(X["paper"][tr])),
                            "seconds": time.time() - t0,
                        }
                    )
                for name, (factory, fs) in baselines().items():
                    old = reused.get(proto, {}).get(target, {}).get(name)
                    if old is not None:
                        rows.setdefault(name, []).append(old["splits"][i])
                        continue
                    t0 = time.time()
                    model = factory().fit(X[fs][tr], y[tr])
                    rows.setdefault(name, []).append(
                        {
                            "test": regression_metrics(y[te], model.predict(X[fs][te])),
                            "train": regression_metrics(y[tr], model.predict(X[fs][tr])),
                            "seconds": time.time() - t0,
                        }
                    )
                print(f"{target} {proto} split {i + 1}/{len(splits[proto])}: "
                      + ", ".join(f"{k} {v[-1]['test']['r2']:.3f}" for k, v in rows.items()), flush=True)
            summary = {}
            for name, recs in rows.items():
                s = {
                    "test_r2": mean_std(r["test"]["r2"] for r in recs),
                    "test_rmse": mean_std(r["test"]["rmse"] for r in recs),
                    "train_r2": mean_std(r["train"]["r2"] for r in recs),
                    "train_rmse": mean_std(r["train"]["rmse"] for r in recs),
                }
                if "coverage_2sigma" in recs[0]:
                    # pooled over all test alloys of the protocol
                    s["coverage_2sigma"] = float(np.average([r["coverage_2sigma"] for r in recs], weights=[r["test"]["n"] for r in recs]))
                    s["raw_coverage_2sigma"] = float(np.average([r["raw_coverage_2sigma"] for r in recs], weights=[r["test"]["n"] for r in recs]))
                    s["sigma_scale"] = mean_std(r["sigma_scale"] for r in recs)
                summary[name] = {"summary": s, "splits": recs}
            results["protocols"].setdefault(proto, {})[target] = summary
    results["settings"] = {
        **dnn_settings,
        "seed": seed,
        "features": list(features),
        "baselines_from": str(baselines_from) if baselines_from else None,
        "data_hash": data_hash("elastic"),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    return results


def markdown(results: dict) -> str:
    lines = ["# Forward models: accuracy on honest protocols", ""]
    s = results["settings"]
    lines.append(f"DNN ensemble: inputs {', '.join(s.get('features', PAPER_FEATURES))} (weighted means); {s['members']} members, {s['ensemble_hyperparameters']['hidden_layer_sizes']} hidden, "
                 f"dropout {s['ensemble_hyperparameters']['dropout']}, lr {s['ensemble_hyperparameters']['learning_rate']}, "
                 f"{s['ensemble_hyperparameters']['epochs']} epochs, weight decay {s['ensemble_hyperparameters'].get('weight_decay', 0.0)}, "
                 f"lr schedule {s['ensemble_hyperparameters'].get('lr_schedule', 'constant')}; sigma calibration: {s['calibration_folds']}-fold OOF inside each training part (0 = not calibrated in this run).")
    if s.get("baselines_from"):
        lines.append(f"Baseline rows copied from `{s['baselines_from']}` (same seed, same data hash, hence the very same splits); rows absent there, or fitted on other DNN inputs or ensemble settings, were fitted in this run.")
    lines.append("")
    for proto, per_target in results["protocols"].items():
        lines.append(f"## {proto}")
        lines.append("")
        lines.append("| model | G test R² | G test RMSE | K test R² | K test RMSE | G train R² | K train R² |")
        lines.append("|---|---|---|---|---|---|---|")
        names = list(next(iter(per_target.values())).keys())
        for name in names:
            def fmt(t: str, key: str) -> str:
                if t not in per_target or name not in per_target[t]:
                    return "-"
                v = per_target[t][name]["summary"][key]
                return f"{v['mean']:.3f} ± {v['std']:.3f}" if v["n"] > 1 else f"{v['mean']:.3f}"
            cells = [fmt("G", "test_r2"), fmt("G", "test_rmse"), fmt("K", "test_r2"), fmt("K", "test_rmse"), fmt("G", "train_r2"), fmt("K", "train_r2")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        cal = results["settings"]["kfold_calibration_folds" if proto == "kfold" else "calibration_folds"]
        if cal == 0:
            raw = "; ".join(f"{t}: {per_target[t]['DNN ensemble']['summary']['raw_coverage_2sigma']:.1%}" for t in per_target)
            lines += ["", f"Not calibrated in this run (calibration folds 0); raw seed-spread ±2σ coverage: {raw}", ""]
            continue
        cov = [
            f"{t}: {per_target[t]['DNN ensemble']['summary']['coverage_2sigma']:.1%} calibrated "
            f"(raw spread {per_target[t]['DNN ensemble']['summary']['raw_coverage_2sigma']:.1%}, "
            f"scale {per_target[t]['DNN ensemble']['summary']['sigma_scale']['mean']:.2f})"
            for t in per_target
        ]
        lines.append("")
        lines.append("DNN ensemble ±2σ coverage of test alloys: " + "; ".join(cov))
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocols", default="paper,random,kfold,grouped")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--calibration-folds", type=int, default=3)
    ap.add_argument("--kfold-calibration-folds", type=int, default=0, help="0: R² only on 5-fold x 3 (saves 4/5 of its cost)")
    ap.add_argument("--no-paper-size", action="store_true", help="skip the paper-size network on the paper split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="forward_accuracy")
    ap.add_argument("--render", type=Path, help="only re-write the Markdown of an existing JSON result")
    ap.add_argument("--targets", default="G,K")
    ap.add_argument("--lr-schedule", default=None, help="override the ensemble's lr_schedule (constant, cosine)")
    ap.add_argument("--weight-decay", type=float, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--dropout", type=float, default=None)
    ap.add_argument("--baselines-from", type=Path, default=None, help="reuse baseline rows of an earlier JSON on the same splits")
    ap.add_argument("--features", default=",".join(SHIPPED_FEATURES), help="the DNN's weighted-mean inputs")
    ap.add_argument("--no-paper-dnn", action="store_true", help="skip the DNN row on the paper's four inputs")
    args = ap.parse_args()
    if args.render:
        res = json.loads(args.render.read_text())
        args.render.with_suffix(".md").write_text(markdown(res) + f"\nCommand: `{res['settings']['command']}`\n")
        return
    torch.set_num_threads(args.threads)
    t0 = time.time()
    overrides = {k: getattr(args, k) for k in ("lr_schedule", "weight_decay", "epochs", "dropout") if getattr(args, k) is not None}
    res = run(args.protocols.split(","), args.members, args.calibration_folds, not args.no_paper_size, args.seed,
              args.kfold_calibration_folds, overrides, tuple(args.targets.split(",")), args.baselines_from,
              tuple(args.features.split(",")), not args.no_paper_dnn)
    res["settings"]["wall_seconds"] = time.time() - t0
    res["settings"]["command"] = "python benchmarks/forward_accuracy.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("no_paper_size", "no_paper_dnn", "render") and v is not None
    ) + (" --no-paper-size" if args.no_paper_size else "") + (" --no-paper-dnn" if args.no_paper_dnn else "")
    write(args.name, res, markdown(res) + f"\nCommand: `{res['settings']['command']}`\n")


if __name__ == "__main__":
    main()
