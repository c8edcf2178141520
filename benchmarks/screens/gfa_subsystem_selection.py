"""Screen sub-/super-system features for the GFA model on selection folds (seed 1; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_subsystem_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

Same fast screen as gfa_selection.py (features once, no calibration; raw
forest ROC-AUC for ``c_*``, R² of log10(Dmax) for ``r_*``), plus features
that describe what the *training fold* knows about the alloy's element set S:
over training alloys whose element set is a proper subset of S (its binary /
ternary / ... parents) and a proper superset (its alloyed descendants), the
largest label, the fraction positive, the number of alloys (log), the
largest measured log10(Dmax). No training alloy reads its own system, so
training and test rows see the same kind of information under both
protocols. Variants: ``c_base`` / ``r_base`` = shipped settings; ``c_sub`` /
``r_sub`` = + subsets only; ``c_subsup`` / ``r_subsup`` = + subsets and
supersets.
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.metrics import roc_auc_score, r2_score
from _setup import fold_rows, screen_setup
S = screen_setup(sys.argv)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
P = A > 0
usys, sys_idx = np.unique(sysg, return_inverse=True)
SP = np.zeros((len(usys), len(els)), bool); SP[sys_idx] = P          # element set per system
size = SP.sum(1)
# sub[s, t] = system t is a proper subset of system s
inter = SP.astype(np.int32) @ SP.T.astype(np.int32)
SUB = (inter == size[None, :]) & (size[None, :] < size[:, None])

def set_feats(tr, sup=False, lab_only=False):
    """Per-system statistics of the training rows tr, then sub/super-set features for every system."""
    ns = len(usys)
    lab = tr[np.isfinite(y[tr])]; mea = tr[np.isfinite(logd[tr])]
    cnt = np.bincount(sys_idx[lab], minlength=ns).astype(float)
    npos = np.bincount(sys_idx[lab], weights=y[lab], minlength=ns)
    mx = np.full(ns, -np.inf); np.maximum.at(mx, sys_idx[mea], logd[mea])
    out = []
    for M in ([SUB, SUB.T] if sup else [SUB]):
        c = M.astype(float) @ cnt; p = M.astype(float) @ npos
        anyp = np.where(c > 0, (p > 0).astype(float), -1.0)
        frac = np.where(c > 0, p / np.maximum(c, 1), -1.0)
        mxd = np.where(M, mx[None, :], -np.inf).max(1); mxd = np.where(np.isfinite(mxd), mxd, -2.0)
        out += [anyp, frac, np.log1p(c), mxd]
    S = np.column_stack(out)
    return S[sys_idx]

def clf(n=60):
    return ExtraTreesClassifier(n, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
def reg(n=60):
    return ExtraTreesRegressor(n, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED)
res = {}
for f, (tr, te) in enumerate(outer):
    trl, tel, trm, tem = fold_rows(y, logd, tr, te)
    t0 = time.time()
    X = {"base": F, "sub": np.column_stack([F, set_feats(tr)]), "subsup": np.column_stack([F, set_feats(tr, sup=True)])}
    for name in WHICH:
        kind, var = name.split("_", 1)
        Xv = X[var]
        if kind == "c":
            s = clf().fit(Xv[trl], y[trl].astype(int)).predict_proba(Xv[tel])[:, 1]
            res.setdefault(name, []).append(roc_auc_score(y[tel], s))
        else:
            p = reg().fit(Xv[trm], logd[trm]).predict(Xv[tem])
            res.setdefault(name, []).append(r2_score(logd[tem], p))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print(PROTO, SEED, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
