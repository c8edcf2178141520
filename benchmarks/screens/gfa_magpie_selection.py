"""Screen Magpie elemental properties, Ward-type composite features and gradient boosting for the GFA model on selection folds.

Run: python benchmarks/screens/gfa_magpie_selection.py [--seeds 1,2] [--protocols grouped,stratified] [--only VARIANT,...]

Selection folds only (seeds 1 and 2 of ``gfa_accuracy.folds``; seed 0 is the
reported benchmark and is not touched here). Fast raw-forest screen, as the
earlier ``gfa_*_selection.py`` screens:

* regressor ``r_*``: R² of log10(Dmax) on the test alloys with a measured
  diameter; the shipped regressor is extra trees (60, min_samples_leaf 2,
  max_features 0.5) on ``GFADescriptors(families=True)`` with the element
  fractions (``r_base``);
* classifier ``c_*``: ROC-AUC on the labelled test alloys of the shipped score
  before Platt scaling: logit of the class-weighted extra-trees classifier
  (60 trees, leaf 2, sqrt) + log P(glass) from the 20-tree glass-vs-crystalline
  forest trained on every training-fold alloy with a class (``c_base``).

Feature blocks added to the shipped features (each mean / composition-weighted
std / min / max over the elements present, like ``RichDescriptors``; a Magpie
value missing for an element is imputed with the table's mean over elements,
as matminer's ``impute_nan``):

``mag``     the Magpie (Ward 2016 / 2018) properties not already in
            RichDescriptors: Number, MendeleevNumber, Column, Row,
            CovalentRadius, N{s,p,d,f}Valence, NValence, N{s,p,d,f}Unfilled,
            NUnfilled, GSvolume_pa, GSbandgap, GSmagmom, SpaceGroupNumber.
``val``     only the valence / unfilled-shell counts of ``mag``.
``pt``      only Number, MendeleevNumber, Column, Row, CovalentRadius.
``gs``      only GSvolume_pa, GSbandgap, GSmagmom, SpaceGroupNumber.
``thermo``  HeatFusion, BulkModulus, ShearModulus, FirstIonizationEnergy,
            ElectronAffinity (Magpie) and density, boiling point (pcids' table).
``ward``    Ward 2016's composite attributes: valence-orbital fractions
            <N_s>/<N_v> ... <N_f>/<N_v>; ionic character
            I_ij = 1 - exp(-(chi_i - chi_j)^2 / 4), its maximum over the pairs
            present and sum_ij c_i c_j I_ij; and Laws-Miracle-Ferry (2015)
            simultaneous atomic packing efficiency (matminer's
            AtomicPackingEfficiency, its first two features, vectorised:
            every atom's neighbour shell has the alloy's mean Miracle radius,
            the cluster size 3-24 with the smallest |APE| is taken) as mean
            and mean |APE|.
``simple``  distance to simple stoichiometries: L1 distance from the
            composition to the nearest composition of its own elements with
            small integer ratios (total number of atoms <= 4, <= 6, <= 8;
            subsets of the elements included), and for the two largest
            components, |x1/(x1+x2) - q| to the nearest q with denominator
            <= 6 (compounds sit at simple ratios, deep eutectics between them).
``all``     mag + thermo + ward + simple.
``liq``     (second round) an estimated liquidus against the pure elements
            (Schroeder-van Laar: element i freezes out first at
            T_i = (dH_i + G_i^ex) / (dH_i / Tm_i - R ln x_i), Magpie heat of
            fusion and melting point; ideal liquid, and a regular solution with
            Omega_ij = 4 x the Miedema pair enthalpy), the largest T_i, each
            divided by the mean melting point, and the ideal depression
            (Tm_mix - T_l) / Tm_mix: a deep-eutectic proxy.

Second round (after the first: the ``gs`` block won narrowly, the HGB means won
grouped and lost random): ``r_ridge<a>_<X>`` ridge regression (alpha a) on
standardised features; ``r_lin<a>_<X>`` the mean of it and the extra trees;
``r_res<a>_<X>`` the ridge plus extra trees fit on its training residuals (a
linear base that extrapolates to new systems, trees for the rest);
``r_wsys<p>_<X>`` / ``c_wsys<p>_<X>`` (third round) every training alloy weighted
by (number of training alloys in its system)^-p, so the large, densely sampled
systems do not dominate what a new system is predicted from (classifier: on
top of the class weights; the glass forest weighted the same way);
``r_<X>~<k>`` the extra trees with tree seed ``seed + 100 k`` (how much of a
gain is the trees' own noise).

Learners for the regressor: ``r_hgb{1,2,3}_<X>`` HistGradientBoosting
(squared error, l2 1, no early stopping; 1 = 300 x 15 leaves, lr 0.05, min
leaf 10; 2 = 500 x 7 leaves, lr 0.03, min leaf 5; 3 = 600 x 31 leaves, lr
0.02, min leaf 20); ``r_avg{k}_<X>`` = mean of the extra trees and hgb{k} on
feature set X; ``r_avg{k}w{w}_<X>`` (third round) = (1 - w) x extra trees + w x hgb{k}. (``gfa_regblend_selection.py`` screened a 300 x 15 / lr 0.03
HGB blend on the pre-family features, seed 1 only: no gain.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from _setup import REPORTED, RESULTS, folds, write
from pcids.datasets import data_hash, load_gfa
from pcids.elements import property_matrix
from pcids.models._gfa_features import GFADescriptors
from pcids.models._gfa_features import _stats as stats  # mean / deviation / min / max, as the package
from pcids.models.gfa import gfa_labels

NAME = "gfa_magpie_selection"
MAGPIE_DIR = Path(__import__("matminer").__file__).parent / "utils" / "data_files" / "magpie_elementdata"
PT = ("Number", "MendeleevNumber", "Column", "Row", "CovalentRadius")
VAL = ("NsValence", "NpValence", "NdValence", "NfValence", "NValence", "NsUnfilled", "NpUnfilled", "NdUnfilled", "NfUnfilled", "NUnfilled")
GS = ("GSvolume_pa", "GSbandgap", "GSmagmom", "SpaceGroupNumber")
THERMO_MAGPIE = ("HeatFusion", "BulkModulus", "ShearModulus", "FirstIonizationEnergy", "ElectronAffinity")
THERMO_PCIDS = ("rho", "t_boil_K")
#: Laws et al. (2015) ideal radius ratios for cluster sizes 3..24 (as matminer's AtomicPackingEfficiency).
IDEAL_RATIO = np.array([0.154701, 0.224745, 0.361654, 0.414214, 0.518145, 0.616517, 0.709914, 0.798907, 0.884003, 0.902113,
                        0.976006, 1.04733, 1.11632, 1.18318, 1.2481, 1.31123, 1.37271, 1.43267, 1.49119, 1.5484, 1.60436, 1.65915])
HGB = {
    "1": dict(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=10),
    "2": dict(max_iter=500, learning_rate=0.03, max_leaf_nodes=7, min_samples_leaf=5),
    "3": dict(max_iter=600, learning_rate=0.02, max_leaf_nodes=31, min_samples_leaf=20),
}


def magpie_matrix(elements: list[str], props: tuple[str, ...]) -> np.ndarray:
    """(m, p) Magpie values of ``elements``, a missing value imputed with the table's mean over its elements."""
    Z = property_matrix(elements, ["Z"])[:, 0].astype(int)
    cols = []
    for prop in props:
        vals = []
        for line in (MAGPIE_DIR / f"{prop}.table").read_text().splitlines():
            s = line.strip()
            try:
                vals.append(float(s))
            except ValueError:
                vals.append(np.nan)
        v = np.array(vals)
        v = np.where(np.isfinite(v), v, np.nanmean(v))
        cols.append(v[Z - 1])
    return np.column_stack(cols)


def ward_features(A: np.ndarray, els: list[str]) -> np.ndarray:
    V = magpie_matrix(els, ("NsValence", "NpValence", "NdValence", "NfValence", "NValence"))
    mv = A @ V
    orb = mv[:, :4] / np.maximum(mv[:, 4:5], 1e-12)
    chi = magpie_matrix(els, ("Electronegativity",))[:, 0]
    I = 1.0 - np.exp(-0.25 * (chi[:, None] - chi[None, :]) ** 2)
    present = A > 0
    imax = np.zeros(len(A))
    m = len(els)
    for i in range(m):
        for j in range(i + 1, m):
            both = present[:, i] & present[:, j]
            if both.any():
                imax = np.where(both, np.maximum(imax, I[i, j]), imax)
    imean = np.einsum("ij,ij->i", A @ I, A)
    r = magpie_matrix(els, ("MiracleRadius",))[:, 0]
    rbar = A @ r
    ratio = r[None, :] / rbar[:, None]  # (n, m)
    ape = 1.0 - IDEAL_RATIO[None, None, :] / ratio[:, :, None]  # (n, m, 22)
    best = np.take_along_axis(ape, np.abs(ape).argmin(axis=2)[:, :, None], axis=2)[:, :, 0]
    return np.column_stack([orb, imax, imean, (A * best).sum(1), (A * np.abs(best)).sum(1)])


def _integer_points(k: int, T: int):
    """Every k-tuple of non-negative integers with sum <= T."""
    if k == 0:
        yield ()
        return
    for a in range(T + 1):
        for rest in _integer_points(k - 1, T - a):
            yield (a, *rest)


def simple_ratio_features(A: np.ndarray, els: list[str], totals=(4, 6, 8), qmax: int = 6) -> np.ndarray:
    out = np.full((len(A), len(totals) + 1), np.nan)
    present = A > 0
    keys = [tuple(np.flatnonzero(p)) for p in present]
    by_set: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        by_set.setdefault(k, []).append(i)
    for idx, rows in by_set.items():
        rows = np.array(rows)
        X = A[np.ix_(rows, idx)]
        k = len(idx)
        for t, T in enumerate(totals):
            pts = np.array([c for c in _integer_points(k, T) if sum(c) > 0], dtype=float)
            pts /= pts.sum(1, keepdims=True)
            out[rows, t] = np.abs(X[:, None, :] - pts[None, :, :]).sum(2).min(1)
    top = np.sort(A, axis=1)[:, ::-1]
    x = top[:, 0] / np.maximum(top[:, 0] + top[:, 1], 1e-12)
    qs = np.unique([a / b for b in range(1, qmax + 1) for a in range(0, b + 1)])
    out[:, -1] = np.abs(x[:, None] - qs[None, :]).min(1)
    return out


def liquidus_features(A: np.ndarray, els: list[str]) -> np.ndarray:
    """Estimated liquidus against terminal solid solutions of the pure elements (Schroeder-van Laar).

    Element i solidifies first at T_i = (dH_i + G_i^ex) / (dH_i / Tm_i - R ln x_i), dH_i = Magpie
    heat of fusion, Tm_i = Magpie melting point; G_i^ex = 0 (ideal liquid) or the partial excess
    Gibbs energy of a regular solution with the Miedema pair interactions Omega_ij = 4 dH_ij,
    (Omega x)_i - x'Omega x / 2. Liquidus = max over the elements present (>= 0). Features:
    ideal and regular liquidus, each divided by the mean melting point, and the ideal depression.
    """
    from pcids.models._gfa_features import R_GAS, pair_enthalpy_matrix

    dH = magpie_matrix(els, ("HeatFusion",))[:, 0] * 1000.0  # J/mol
    Tm = magpie_matrix(els, ("MeltingT",))[:, 0]
    Om = 4000.0 * pair_enthalpy_matrix(els)[0]  # J/mol
    present = A > 0
    with np.errstate(divide="ignore"):
        lnx = np.where(present, np.log(np.where(present, A, 1.0)), -np.inf)
    den = dH[None, :] / Tm[None, :] - R_GAS * lnx
    gex = A @ Om - 0.5 * np.einsum("ij,ij->i", A @ Om, A)[:, None]
    t_id = np.where(present, dH[None, :] / den, -np.inf).max(1)
    t_reg = np.maximum(np.where(present, (dH[None, :] + gex) / den, -np.inf).max(1), 0.0)
    tm_mix = A @ Tm
    return np.column_stack([t_id, t_reg, t_id / tm_mix, t_reg / tm_mix, (tm_mix - t_id) / tm_mix])


def feature_sets(A: np.ndarray, els: list[str]) -> dict[str, np.ndarray]:
    F = GFADescriptors(els, families=True).transform_matrix(A, els)
    val = stats(A, magpie_matrix(els, VAL))
    pt = stats(A, magpie_matrix(els, PT))
    gs = stats(A, magpie_matrix(els, GS))
    thermo = stats(A, np.column_stack([magpie_matrix(els, THERMO_MAGPIE), property_matrix(els, THERMO_PCIDS)]))
    ward = ward_features(A, els)
    simple = simple_ratio_features(A, els)
    liq = liquidus_features(A, els)
    blocks = {"liq": liq, "val": val, "pt": pt, "gs": gs, "mag": np.column_stack([val, pt, gs]), "thermo": thermo, "ward": ward, "simple": simple}
    X = {"base": F}
    for k, B in blocks.items():
        assert np.isfinite(B).all(), k
        X[k] = np.column_stack([F, B])
    X["all"] = np.column_stack([F, blocks["mag"], thermo, ward, simple])
    return X


def ETR(seed: int) -> ExtraTreesRegressor:
    return ExtraTreesRegressor(60, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=seed)


def ETC(seed: int, n: int = 60) -> ExtraTreesClassifier:
    return ExtraTreesClassifier(n, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=seed)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def run(df, X, seed: int, proto: str, variants: list[str]) -> dict[str, list[float]]:
    y = gfa_labels(df).to_numpy()
    logd = np.log10(df["dmax_mm"].to_numpy())
    sysg = df["system"].to_numpy()
    cls = df["gfa_class"].to_numpy()
    has_glass = np.isin(cls, ["ribbon glass", "bulk glass", "crystalline"])
    glass = (cls != "crystalline").astype(int)
    res: dict[str, list[float]] = {}
    for f, (tr, te) in enumerate(folds(df, proto, seed)):
        trl, tel = tr[np.isfinite(y[tr])], te[np.isfinite(y[te])]
        trm, tem = tr[np.isfinite(logd[tr])], te[np.isfinite(logd[te])]
        trg = tr[has_glass[tr]]
        t0 = time.time()
        cache: dict[str, np.ndarray] = {}

        def et_pred(xs: str, ts: int = 0) -> np.ndarray:
            if ("et", xs, ts) not in cache:
                cache[("et", xs, ts)] = ETR(seed + 100 * ts).fit(X[xs][trm], logd[trm]).predict(X[xs][tem])
            return cache[("et", xs, ts)]

        def hgb_pred(k: str, xs: str) -> np.ndarray:
            if ("hgb" + k, xs) not in cache:
                m = HistGradientBoostingRegressor(l2_regularization=1.0, early_stopping=False, random_state=seed, **HGB[k])
                cache[("hgb" + k, xs)] = m.fit(X[xs][trm], logd[trm]).predict(X[xs][tem])
            return cache[("hgb" + k, xs)]

        def linear_pred(kind2: str, alpha: float, xs: str) -> np.ndarray:
            sc = StandardScaler().fit(X[xs][trm])
            Ztr, Zte = sc.transform(X[xs][trm]), sc.transform(X[xs][tem])
            lin = Ridge(alpha=alpha).fit(Ztr, logd[trm])
            if kind2 == "ridge":
                return lin.predict(Zte)
            if kind2 == "lin":
                return 0.5 * (et_pred(xs) + lin.predict(Zte))
            # res: extra trees on the ridge's training residuals, added to the ridge
            return lin.predict(Zte) + ETR(seed).fit(X[xs][trm], logd[trm] - lin.predict(Ztr)).predict(X[xs][tem])

        def sys_weight(rows: np.ndarray, power: float) -> np.ndarray:
            _, inv, cnt = np.unique(sysg[rows], return_inverse=True, return_counts=True)
            w = cnt[inv].astype(float) ** -power
            return w * len(w) / w.sum()

        for name in variants:
            kind, rest = name.split("_", 1)
            if kind == "c" and rest.startswith("wsys"):
                tag, xs = rest.split("_", 1)
                w = sys_weight(trl, float(tag[4:]))
                p = ETC(seed).fit(X[xs][trl], y[trl].astype(int), sample_weight=w).predict_proba(X[xs][tel])[:, 1]
                pg = ETC(seed, 20).fit(X[xs][trg], glass[trg], sample_weight=sys_weight(trg, float(tag[4:]))).predict_proba(X[xs][tel])[:, 1]
                res.setdefault(name, []).append(float(roc_auc_score(y[tel], logit(p) + np.log(np.clip(pg, 1e-3, 1)))))
                continue
            if kind == "r" and rest.startswith("wsys"):
                tag, xs = rest.split("_", 1)
                pr = ETR(seed).fit(X[xs][trm], logd[trm], sample_weight=sys_weight(trm, float(tag[4:]))).predict(X[xs][tem])
                res.setdefault(name, []).append(float(r2_score(logd[tem], pr)))
                continue
            if kind == "c":
                p = ETC(seed).fit(X[rest][trl], y[trl].astype(int)).predict_proba(X[rest][tel])[:, 1]
                pg = ETC(seed, 20).fit(X[rest][trg], glass[trg]).predict_proba(X[rest][tel])[:, 1]
                res.setdefault(name, []).append(float(roc_auc_score(y[tel], logit(p) + np.log(np.clip(pg, 1e-3, 1)))))
                continue
            if rest.startswith("hgb"):
                k, xs = rest[3:].split("_", 1)
                pr = hgb_pred(k, xs)
            elif rest.startswith(("ridge", "lin", "res")):
                tag, xs = rest.split("_", 1)
                kind2 = tag.rstrip("0123456789.")
                pr = linear_pred(kind2, float(tag[len(kind2):]), xs)
            elif rest.startswith("avg"):
                k, xs = rest[3:].split("_", 1)
                k, w = (k.split("w")[0], float(k.split("w")[1])) if "w" in k else (k, 0.5)  # avg2w0.3: 0.3 x HGB
                pr = (1 - w) * et_pred(xs) + w * hgb_pred(k, xs)
            elif "~" in rest:  # the same extra trees with another tree seed (seed + 100 k): noise check
                xs, ts = rest.split("~")
                pr = et_pred(xs, int(ts))
            else:
                pr = et_pred(rest)
            res.setdefault(name, []).append(float(r2_score(logd[tem], pr)))
        print(f"seed {seed} {proto} fold {f}: {time.time() - t0:.0f}s", {k: round(v[-1], 4) for k, v in res.items()}, flush=True)
    return res


DEFAULT = [
    "r_base", "r_mag", "r_val", "r_pt", "r_gs", "r_thermo", "r_ward", "r_simple", "r_all",
    "r_hgb1_base", "r_hgb2_base", "r_hgb3_base", "r_avg1_base", "r_avg2_base", "r_avg3_base",
    "r_hgb1_mag", "r_avg1_mag", "r_hgb1_all", "r_avg1_all",
    "c_base", "c_mag", "c_val", "c_pt", "c_gs", "c_thermo", "c_ward", "c_simple", "c_all",
]
IDEAS = {
    "1. Magpie elemental properties (extra trees)": ["mag", "val", "pt", "gs", "thermo"],
    "3. Composite / structural features (extra trees)": ["ward", "simple", "all", "liq"],
    "2. Learner for the regressor (HistGradientBoosting, and its mean with the extra trees)": None,
    "3b. A linear base under the trees (regressor)": "linear",
    "3c. Alloy systems weighted by size (regressor and classifier)": ["wsys0.5_base", "wsys1_base"],
    "Noise check: other tree seeds (seed + 100 k) for the base and the best feature block": "trees",
}


def full_pipeline_section() -> list[str]:
    """The full GFAModel pipeline (``gfa_accuracy.py``) for the two variants implemented after the screen, if run."""
    variants = {"gs": "`dmax_ground_state=True` (the ground-state block, regressor only)",
                "hgbw": "`dmax_hgb_blend=0.2` (0.8 x extra trees + 0.2 x HGB setting 1)"}
    md = []
    for v, what in variants.items():
        runs = [(f"seed {s}", RESULTS / f"gfa_selection_seed{s}_{v}.json") for s in (1, 2)] + [("seed 0 (reported)", REPORTED / f"gfa_accuracy_{v}.json")]
        rows = []
        for label, f in runs:
            if not f.exists():
                continue
            r = json.loads(f.read_text())["results"]
            cells = []
            for p in ("grouped", "stratified"):
                d = r[p]["per_fold_mean_std"]
                cells += [f"{d['nodglass']['reg_r2']['mean']:.4f} -> {d[v]['reg_r2']['mean']:.4f}",
                          f"{d['nodglass']['roc_auc']['mean']:.4f} -> {d[v]['roc_auc']['mean']:.4f}"]
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
        if rows:
            md += [f"## Full pipeline: {what}", "",
                   f"`python benchmarks/gfa_accuracy.py --models nodglass,{v} --seed S --name screens/gfa_selection_seedS_{v}` (seed 0: "
                   f"`--name gfa_accuracy_{v}`); nodglass = the shipped settings; shipped -> variant:", "",
                   "| folds | grouped R² | grouped ROC-AUC | random R² | stratified ROC-AUC |", "|---|---|---|---|---|", *rows, ""]
    if md:
        md += ["gs: no win on seed 1 (a tie on seed-2 random folds), so it stays off and was not run on seed 0. "
               "hgbw: grouped R² up on both selection seeds, random neutral, so it was run once on seed 0. Its cost: "
               "predict_dmax_matrix ~130k -> ~29k and predict_matrix ~73k -> ~24k compositions per CPU-second "
               "(300 boosted trees; 100,000 Zr-Ti-Cu-Ni-Be compositions, models fit on all data; "
               "predict_proba_matrix unchanged).", ""]
    return md


def render(out: dict) -> str:
    runs = out["runs"]
    cols = [k for k in (f"s{s}_{p}" for s in (1, 2) for p in ("grouped", "stratified")) if k in runs]
    head = {"grouped": "grouped", "stratified": "random/strat."}

    def table(names: list[str], metric: str) -> list[str]:
        hdr = " | ".join(f"seed {c[1]} {head[c.split('_', 1)[1]]}" for c in cols)
        lines = [f"| variant | {hdr} | wins on both seeds |", "|---|" + "---|" * len(cols) + "---|"]
        base = "r_base" if metric == "R²" else "c_base"
        for n in names:
            cells, wins = [], {}
            for c in cols:
                v = runs[c].get(n)
                b = runs[c].get(base)
                if v is None:
                    cells.append("–")
                    continue
                m = float(np.mean(v))
                d = m - float(np.mean(b)) if b is not None else np.nan
                cells.append(f"{m:.4f}" + ("" if n == base else f" ({d:+.4f})"))
                wins.setdefault(c.split("_", 1)[1], []).append(d > 0)
            w = ", ".join(p for p, ok in wins.items() if n != base and len(ok) == 2 and all(ok)) or "–"
            lines.append(f"| {n} | " + " | ".join(cells) + f" | {w} |")
        return lines

    md = ["# GFA screen: Magpie properties, composite features, gradient boosting (selection folds, seeds 1 and 2)", "",
          "Mean over the 5 outer folds of `gfa_accuracy.folds(df, protocol, seed)`; in brackets the difference to the shipped "
          "settings (`r_base` / `c_base`) on the same folds. Regressor: R² of log10(Dmax) (stratified folds are random folds "
          "for the measured alloys). Classifier: ROC-AUC of the shipped raw score (extra-trees logit + log P(glass)), before "
          "Platt scaling. A variant 'wins' a protocol when it beats the base on both seeds. Feature blocks and learners: "
          "module docstring of `benchmarks/gfa_magpie_selection.py`.", ""]
    allv = list(dict.fromkeys(k for r in runs.values() for k in r))
    for title, sets in IDEAS.items():
        if not isinstance(sets, list):
            pre = {None: ("r_hgb", "r_avg"), "linear": ("r_ridge", "r_lin", "r_res")}.get(sets)
            names = ["r_base"] + [n for n in allv if (n.startswith(pre) if pre else "~" in n)]
            if len(names) == 1:
                continue
            md += [f"## {title}", "", "Regressor, R²:", ""] + table(names, "R²") + [""]
            continue
        rn = ["r_base"] + [f"r_{s}" for s in sets if f"r_{s}" in allv]
        cn = ["c_base"] + [f"c_{s}" for s in sets if f"c_{s}" in allv]
        md += [f"## {title}", "", "Regressor, R²:", ""] + table(rn, "R²") + ["", "Classifier, ROC-AUC:", ""] + table(cn, "ROC-AUC") + [""]
    md += full_pipeline_section()
    md += ["## Per-fold values", "", "In the JSON file (`runs.<seed>_<protocol>.<variant>`: one value per fold).", "",
           "Commands (each adds its variants to the same tables):", ""]
    md += [f"- `cd benchmarks && OMP_NUM_THREADS=1 python gfa_magpie_selection.py {c}`".replace(" `", "`").replace("-`", "- `") for c in out["commands"]]
    return "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--protocols", default="grouped,stratified")
    ap.add_argument("--only", default=",".join(DEFAULT))
    a = ap.parse_args()
    if "0" in a.seeds.split(","):
        raise SystemExit("seed 0 is the reported benchmark's; select on seeds 1 and 2")
    threadpool_limits(1)
    df = load_gfa()
    els = df.attrs["elements"]
    A = df[els].to_numpy()
    A = A / A.sum(1, keepdims=True)
    t0 = time.time()
    X = feature_sets(A, els)
    print({k: v.shape[1] for k, v in X.items()}, f"features {time.time() - t0:.0f}s", flush=True)
    variants = a.only.split(",")
    out = {"data_hash": data_hash("gfa"), "commands": [], "n_features": {k: int(v.shape[1]) for k, v in X.items()}, "runs": {}}
    old = RESULTS / f"{NAME}.json"
    if old.exists():  # add to the earlier runs of this screen (same data) instead of replacing them
        prev = json.loads(old.read_text())
        if prev.get("data_hash") == out["data_hash"]:
            out["commands"], out["runs"] = prev.get("commands", [prev.get("args", "")]), prev["runs"]
    out["commands"].append(" ".join(f"--{k} {v}" for k, v in vars(a).items() if v != ap.get_default(k)))
    for s in (int(x) for x in a.seeds.split(",")):
        for p in a.protocols.split(","):
            out["runs"].setdefault(f"s{s}_{p}", {}).update(run(df, X, s, p, variants))
            write(NAME, out, render(out))  # after every run, so a partial screen is on disk


if __name__ == "__main__":
    main()
