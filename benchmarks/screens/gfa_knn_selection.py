"""Screen neighbour (kNN) features for the GFA model on selection folds (seed 1; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_knn_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

Same fast screen as gfa_selection.py (features once, no calibration; raw
forest ROC-AUC for ``c_*``, R² of log10(Dmax) for ``r_*``), plus features
from the nearest *training-fold* alloys in L1 distance over element-fraction
vectors: for training rows leave-one-out (``loo``: every other training
alloy) or leave-system-out (``lso``: alloys of other systems only, mimicking
a new system), for test rows all training alloys. Classifier neighbour set:
labelled training alloys; regressor set: training alloys with a measured
Dmax. Variants: ``c_base`` / ``r_base`` = shipped settings; ``c_knn_loo``,
``c_knn_lso``, ``r_knn_loo``, ``r_knn_lso`` (the regressor also gets the
classifier's neighbour features); ``c_knnonly`` = the distance-weighted kNN
label mean alone; ``c_blendW`` = ET margin + W * logit(kNN label mean).
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.metrics import roc_auc_score, r2_score, pairwise_distances
from _setup import fold_rows, screen_setup
S = screen_setup(sys.argv)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
K = int(sys.argv[4]) if len(sys.argv) > 4 else 5
D = pairwise_distances(A, metric="manhattan").astype(np.float32)

def nbr(Q, R, vals, mode, k=K, pos=None):
    """Neighbour features of rows Q against reference rows R (values vals of R)."""
    d = D[np.ix_(Q, R)].astype(np.float64)
    if mode in ("loo", "lso"):  # Q are the training rows themselves (Q subset of R)
        same = Q[:, None] == R[None, :]
        if mode == "lso":
            same |= sysg[Q][:, None] == sysg[R][None, :]
        d[same] = np.inf
    idx = np.argpartition(d, k, axis=1)[:, :k]
    dk = np.take_along_axis(d, idx, 1)
    o = np.argsort(dk, 1); idx = np.take_along_axis(idx, o, 1); dk = np.take_along_axis(dk, o, 1)
    dk = np.minimum(dk, 2.0)
    w = 1.0 / (dk + 0.02)
    v = vals[idx]
    cols = [dk[:, 0], (w * v).sum(1) / w.sum(1), v[:, 0]]
    if pos is not None:  # classifier: distances to nearest positive / negative
        for lab in (1, 0):
            dd = np.where((vals == lab)[None, :], d, np.inf).min(1)
            cols.append(np.minimum(dd, 2.0))
    return np.column_stack(cols)

def clf(n=60):
    return ExtraTreesClassifier(n, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
def reg(n=60):
    return ExtraTreesRegressor(n, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED)
def logit(p):
    p = np.clip(p, 1e-3, 1 - 1e-3); return np.log(p / (1 - p))
res = {}
for f, (tr, te) in enumerate(outer):
    trl, tel, trm, tem = fold_rows(y, logd, tr, te)
    t0 = time.time()
    feats = {}
    for mode in ("loo", "lso"):
        if any(mode in w for w in WHICH) or any(w.startswith("c_blend") or w == "c_knnonly" for w in WHICH):
            feats[("c", mode)] = (nbr(trl, trl, y[trl], mode, pos=True), nbr(tel, trl, y[trl], "test", pos=True))
            feats[("cm", mode)] = (nbr(trm, trl, y[trl], mode, pos=True), nbr(tem, trl, y[trl], "test", pos=True))
            feats[("r", mode)] = (nbr(trm, trm, logd[trm], mode), nbr(tem, trm, logd[trm], "test"))
    base_m = None
    for name in [w for w in WHICH if w.startswith("c_")]:
        if name == "c_base" or name.startswith("c_blend"):
            if base_m is None:
                base_m = logit(clf().fit(F[trl], y[trl].astype(int)).predict_proba(F[tel])[:, 1])
            if name == "c_base":
                s = base_m
            else:
                wgt = float(name[7:])
                s = base_m + wgt * logit(feats[("c", "loo")][1][:, 1])
        elif name == "c_knnonly":
            s = feats[("c", "loo")][1][:, 1]
        else:
            mode = "lso" if "lso" in name else "loo"
            Xtr = np.column_stack([F[trl], feats[("c", mode)][0]]); Xte = np.column_stack([F[tel], feats[("c", mode)][1]])
            s = clf().fit(Xtr, y[trl].astype(int)).predict_proba(Xte)[:, 1]
        res.setdefault(name, []).append(roc_auc_score(y[tel], s))
    for name in [w for w in WHICH if w.startswith("r_")]:
        if name == "r_base":
            Xtr, Xte = F[trm], F[tem]
        else:
            mode = "lso" if "lso" in name else "loo"
            parts_tr, parts_te = [F[trm], feats[("r", mode)][0]], [F[tem], feats[("r", mode)][1]]
            if "rc" not in name:
                parts_tr.append(feats[("cm", mode)][0]); parts_te.append(feats[("cm", mode)][1])
            Xtr, Xte = np.column_stack(parts_tr), np.column_stack(parts_te)
        p = reg().fit(Xtr, logd[trm]).predict(Xte)
        res.setdefault(name, []).append(r2_score(logd[tem], p))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print(PROTO, SEED, K, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
