"""Screen a distance-gated nearest-neighbour blend for the GFA classifier on selection folds (seeds 1, 2; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_nngate_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

Score = the shipped raw pipeline (60-tree classifier logit + log P(glass) of a
20-tree glass forest, families features) as gfa_family_selection.py
``c_mixg20_famn``. The nearest *labelled* training alloy by L1 distance over
atomic fractions (sum 1, so L1 in [0, 2]) adds ``b * (2 y_nn - 1)`` to the score
when it lies within ``d`` (hard gate, ``g<d>_<b>``) or ``b * (1 - dist / d) *
(2 y_nn - 1)`` (linear taper, ``t<d>_<b>``); ``base`` = no blend. ``amb<W>`` = no blend, the
classifier also trains on the bulk glasses without a diameter as positives with
sample weight W (scored on the same labelled test alloys). ``reg<c>`` = no blend,
score + c * (log10 Dmax predicted by the shipped regressor - log10 2) / 0.3.
``cw<k>`` = no blend; classifier rows with a measured Dmax weighted by
min(1, k * |log10(Dmax / 2)| + 0.25) (labels at the threshold, often a mould
size, count less).
``rw<W>`` = no blend; ribbon-glass negatives (no measured diameter) weighted W in
the classifier (label noise: composition-spread sources call castable alloys
ribbon glasses).
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors
from _setup import screen_setup
S = screen_setup(sys.argv, families=True)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
glass = (df["gfa_class"] != "crystalline").to_numpy().astype(int)
res = {}; hits = []
for f, (tr, te) in enumerate(outer):
    trl = tr[np.isfinite(y[tr])]; tel = te[np.isfinite(y[te])]
    t0 = time.time()
    C = ExtraTreesClassifier(60, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
    p = np.clip(C.fit(F[trl], y[trl].astype(int)).predict_proba(F[tel])[:, 1], 1e-3, 1 - 1e-3)
    G = ExtraTreesClassifier(20, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
    pg = np.clip(G.fit(F[tr], glass[tr]).predict_proba(F[tel])[:, 1], 1e-3, 1)
    z = np.log(p / (1 - p)) + np.log(pg)
    dist, idx = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(A[trl]).kneighbors(A[tel])
    dist = dist[:, 0]; sgn = 2 * y[trl][idx[:, 0]] - 1
    hits.append([float((dist < d).mean()) for d in (0.01, 0.02, 0.04, 0.06, 0.1)])
    regp = None
    for name in WHICH:
        if name.startswith("reg") and regp is None:
            from sklearn.ensemble import ExtraTreesRegressor
            trm = tr[np.isfinite(S.logd[tr])]
            regp = ExtraTreesRegressor(60, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED).fit(F[trm], S.logd[trm]).predict(F[tel])
        if name == "base":
            s = z
        elif name.startswith("reg"):
            s = z + float(name[3:]) * (regp - np.log10(2)) / 0.3
        elif name.startswith("rw"):
            ribm = (df["gfa_class"].to_numpy()[trl] == "ribbon glass") & ~np.isfinite(df["dmax_mm"].to_numpy()[trl])
            w = np.where(ribm, float(name[2:]), 1.0)
            C2 = ExtraTreesClassifier(60, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
            p2 = np.clip(C2.fit(F[trl], y[trl].astype(int), sample_weight=w).predict_proba(F[tel])[:, 1], 1e-3, 1 - 1e-3)
            s = np.log(p2 / (1 - p2)) + np.log(pg)
        elif name.startswith("cw"):
            logd = np.log10(df["dmax_mm"].to_numpy()[trl])
            w = np.where(np.isfinite(logd), np.minimum(1, float(name[2:]) * np.abs(logd - np.log10(2)) + 0.25), 1.0)
            C2 = ExtraTreesClassifier(60, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
            p2 = np.clip(C2.fit(F[trl], y[trl].astype(int), sample_weight=w).predict_proba(F[tel])[:, 1], 1e-3, 1 - 1e-3)
            s = np.log(p2 / (1 - p2)) + np.log(pg)
        elif name.startswith("amb"):
            amb = tr[np.isnan(y[tr]) & (df["gfa_class"].to_numpy()[tr] == "bulk glass")]
            rows = np.concatenate([trl, amb]); yy = np.concatenate([y[trl], np.ones(len(amb))]).astype(int)
            w = np.concatenate([np.ones(len(trl)), np.full(len(amb), float(name[3:]))])
            C2 = ExtraTreesClassifier(60, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
            p2 = np.clip(C2.fit(F[rows], yy, sample_weight=w).predict_proba(F[tel])[:, 1], 1e-3, 1 - 1e-3)
            s = np.log(p2 / (1 - p2)) + np.log(pg)
        else:
            d, b = map(float, name[1:].split("_"))
            w = (dist < d).astype(float) if name[0] == "g" else np.clip(1 - dist / d, 0, 1)
            s = z + b * w * sgn
        res.setdefault(name, []).append(roc_auc_score(y[tel], s))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print("share of test alloys with a labelled neighbour within L1 0.01/0.02/0.04/0.06/0.1:", np.round(np.mean(hits, 0), 3).tolist())
print(PROTO, SEED, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
