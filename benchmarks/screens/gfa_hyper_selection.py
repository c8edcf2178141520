"""Screen further forest settings for the GFA model on selection folds (seed 1; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_hyper_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

Same fast screen as gfa_selection.py (features once, no calibration; raw
forest ROC-AUC for ``c_*``, R² of log10(Dmax) for ``r_*``). Variants are the
keys of CLF / REG below (``c_base`` / ``r_base`` = shipped settings).
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.metrics import roc_auc_score, r2_score
from _setup import fold_rows, screen_setup
S = screen_setup(sys.argv)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
NDESC = F.shape[1] - len(els)
ndm = df["n_dmax"].to_numpy(float); cls = df["gfa_class"].to_numpy()
def C(n=60, **kw):
    p = dict(min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED); p.update(kw)
    return ExtraTreesClassifier(n, **p)
def R(n=60, **kw):
    p = dict(min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED); p.update(kw)
    return ExtraTreesRegressor(n, **p)
CLF = {
    "c_base": lambda: C(),
    "c_nocw": lambda: C(class_weight=None),
    "c_bal": lambda: C(class_weight="balanced"),
    "c_entropy": lambda: C(criterion="entropy"),
    "c_boot": lambda: C(bootstrap=True),
    "c_msl3": lambda: C(min_samples_leaf=3),
    "c_mf02": lambda: C(max_features=0.2),
    "c_mflog2": lambda: C(max_features="log2"),
}
REG = {
    "r_base": lambda: R(),
    "r_mfsqrt": lambda: R(max_features="sqrt"),
    "r_mf03": lambda: R(max_features=0.3),
    "r_mf07": lambda: R(max_features=0.7),
    "r_msl3": lambda: R(min_samples_leaf=3),
    "r_msl5": lambda: R(min_samples_leaf=5),
    "r_boot": lambda: R(bootstrap=True),
    "r_wndmax": lambda: R(),
    "r_nofrac": lambda: R(),
    "r_fraconly": lambda: R(),
}
res = {}
for f, (tr, te) in enumerate(outer):
    trl, tel, trm, tem = fold_rows(y, logd, tr, te)
    t0 = time.time()
    for name in WHICH:
        if name in CLF:
            s = CLF[name]().fit(F[trl], y[trl].astype(int)).predict_proba(F[tel])[:, 1]
            res.setdefault(name, []).append(roc_auc_score(y[tel], s))
        else:
            cols = slice(None)
            if name == "r_nofrac": cols = slice(0, NDESC)
            if name == "r_fraconly": cols = slice(NDESC, None)
            w = np.sqrt(np.maximum(ndm[trm], 1)) if name == "r_wndmax" else None
            p = REG[name]().fit(F[trm][:, cols], logd[trm], sample_weight=w).predict(F[tem][:, cols])
            res.setdefault(name, []).append(r2_score(logd[tem], p))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print(PROTO, SEED, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
