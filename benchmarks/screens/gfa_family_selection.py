"""Screen element-family fractions for the GFA model on selection folds (seed 1; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_family_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

Inoue's empirical BMG families are built from element *classes* (early /
late transition metals, lanthanides, simple metals, metalloids), e.g. ETM-LTM
or LTM-metalloid near 80:20. Trees on per-element fractions cannot add
fractions across elements, so a new system (grouped folds) cannot borrow
from a chemically similar one. Features: the summed fraction of each class
(FAMILIES below), number of elements, largest fraction. Same fast screen as
gfa_selection.py. Variants: ``c_base`` / ``r_base`` = shipped settings;
``c_fam`` / ``r_fam`` = + family fractions; ``c_famn`` / ``r_famn`` = + family
fractions, number of elements, largest fraction; ``c_mix_<X>`` = classifier
on feature set X plus log P(glass) of a glass-at-all forest on the same
features (as ``c_mix1`` of gfa_chain_selection.py); ``c_mixgN_<X>`` = the
same with N trees in the glass forest, ``c_mixmlN_<X>`` = with
min_samples_leaf N in the glass forest (smaller forests, faster scoring).
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.metrics import roc_auc_score, r2_score
from pcids.models._gfa_features import FAMILIES as PACKAGE_FAMILIES
from _setup import fold_rows, screen_setup
S = screen_setup(sys.argv)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
FAMILIES = {k: [e for e in v if e in els] for k, v in PACKAGE_FAMILIES.items()}  # the shipped families, on the data's elements
assert sorted(sum(FAMILIES.values(), [])) == sorted(els), set(els) ^ set(sum(FAMILIES.values(), []))
FAM = np.column_stack([A[:, [els.index(e) for e in v]].sum(1) for v in FAMILIES.values()])
X = {"base": F, "fam": np.column_stack([F, FAM]), "famn": np.column_stack([F, FAM, (A > 0).sum(1), A.max(1)])}
res = {}
for f, (tr, te) in enumerate(outer):
    trl, tel, trm, tem = fold_rows(y, logd, tr, te)
    t0 = time.time()
    for name in WHICH:
        if name.startswith("c_mix"):  # + log P(glass) from a glass-at-all forest (gfa_chain_selection.py c_mix1)
            tag, var = name.split("_", 2)[1:]
            ng = int(tag[4:]) if tag.startswith("mixg") else 60  # c_mixg20_<X>: glass forest of 20 trees
            lg = int(tag[5:]) if tag.startswith("mixml") else 2  # c_mixml5_<X>: glass forest min_samples_leaf 5
            C = lambda: ExtraTreesClassifier(60, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
            glass = (df["gfa_class"] != "crystalline").to_numpy().astype(int)
            p = np.clip(C().fit(X[var][trl], y[trl].astype(int)).predict_proba(X[var][tel])[:, 1], 1e-3, 1 - 1e-3)
            G = ExtraTreesClassifier(ng, min_samples_leaf=lg, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
            pg = np.clip(G.fit(X[var][tr], glass[tr]).predict_proba(X[var][tel])[:, 1], 1e-3, 1)
            res.setdefault(name, []).append(roc_auc_score(y[tel], np.log(p / (1 - p)) + np.log(pg)))
            continue
        kind, var = name.split("_", 1)
        Xv = X[var]
        if kind == "c":
            m = ExtraTreesClassifier(60, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)
            res.setdefault(name, []).append(roc_auc_score(y[tel], m.fit(Xv[trl], y[trl].astype(int)).predict_proba(Xv[tel])[:, 1]))
        else:
            m = ExtraTreesRegressor(60, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED)
            res.setdefault(name, []).append(r2_score(logd[tem], m.fit(Xv[trm], logd[trm]).predict(Xv[tem])))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print(PROTO, SEED, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
