"""Screen blends for the log10(Dmax) regressor on selection folds (seed 1; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_regblend_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

R² of log10(Dmax) on the test alloys with a measured diameter, as
gfa_selection.py. ``r_base`` = shipped extra trees; ``r_hgb`` = gradient
boosting (300 x 15 leaves, lr 0.03, min leaf 10); ``r_knn`` = distance-weighted
5-nearest-neighbour mean over L1 distance between element-fraction vectors;
``r_hgbW`` / ``r_knnW`` = (1 - W) * extra trees + W * that model;
``r_nofrac_mf1`` = descriptors only, max_features 1.0.
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor
from sklearn.neighbors import KNeighborsRegressor
from sklearn.metrics import r2_score
from _setup import screen_setup
S = screen_setup(sys.argv)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
NDESC = F.shape[1] - len(els)
res = {}
for f, (tr, te) in enumerate(outer):
    trm = tr[np.isfinite(logd[tr])]; tem = te[np.isfinite(logd[te])]
    t0 = time.time()
    et = ExtraTreesRegressor(60, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED).fit(F[trm], logd[trm]).predict(F[tem])
    hg = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.03, max_leaf_nodes=15, min_samples_leaf=10, l2_regularization=1.0, random_state=SEED).fit(F[trm], logd[trm]).predict(F[tem])
    kn = KNeighborsRegressor(5, weights="distance", metric="manhattan").fit(A[trm], logd[trm]).predict(A[tem])
    for name in WHICH:
        if name == "r_base": p = et
        elif name == "r_hgb": p = hg
        elif name == "r_knn": p = kn
        elif name.startswith("r_hgb"): w = float(name[5:]); p = (1 - w) * et + w * hg
        elif name.startswith("r_knn"): w = float(name[5:]); p = (1 - w) * et + w * kn
        elif name == "r_nofrac_mf1":
            p = ExtraTreesRegressor(60, min_samples_leaf=2, max_features=1.0, n_jobs=1, random_state=SEED).fit(F[trm][:, :NDESC], logd[trm]).predict(F[tem][:, :NDESC])
        res.setdefault(name, []).append(r2_score(logd[tem], p))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print(PROTO, SEED, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
