"""Screen a two-stage GFA classifier on selection folds (seed 1; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_chain_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

P(Dmax >= 2 mm) = P(glass) * P(Dmax >= 2 mm | glass): a "glass at all"
forest (ribbon or bulk glass against crystalline, trained on every training
alloy with a class, ambiguous bulk glasses included) times a forest trained
on the labelled glasses only (crystalline alloys left out). Raw forest
ROC-AUC on the labelled test alloys, as gfa_selection.py. Variants:
``c_base`` = shipped classifier; ``c_chain`` = the product; ``c_mixW`` =
shipped margin + W * log P(glass); ``c_regW`` = shipped margin + W *
the log10(Dmax) regressor's prediction; ``c_grW`` = ``c_mix1`` + W * that
prediction; ``c_mc``
= one 4-class forest (crystalline / glass below threshold / positive /
ambiguous bulk glass), score P(positive) (``bal``: class-weighted; ``23``: +
half P(ambiguous); ``lo``: log P(pos) - log P(neg classes)); ``c_mixnaW`` = ``c_mixW`` with the glass forest trained
without the ambiguous bulk glasses; ``c_gstack`` = log P(glass) as one more
feature of the shipped classifier (inner grouped out-of-fold on training
rows); ``c_mlpW`` = shipped margin blended with
an MLP (W of its log-odds).
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import roc_auc_score
from pcids.evaluation import grouped_kfold
from _setup import screen_setup
S = screen_setup(sys.argv)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
glass = (df["gfa_class"] != "crystalline").to_numpy().astype(int)
def C(n=60, **kw):
    p = dict(min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED); p.update(kw)
    return ExtraTreesClassifier(n, **p)
def lg(p):
    p = np.clip(p, 1e-3, 1 - 1e-3); return np.log(p / (1 - p))
res = {}
for f, (tr, te) in enumerate(outer):
    trl = tr[np.isfinite(y[tr])]; tel = te[np.isfinite(y[te])]
    t0 = time.time()
    base = C().fit(F[trl], y[trl].astype(int)).predict_proba(F[tel])[:, 1]
    pg = C().fit(F[tr], glass[tr]).predict_proba(F[tel])[:, 1]
    trg = trl[glass[trl] == 1]
    pb = C().fit(F[trg], y[trg].astype(int)).predict_proba(F[tel])[:, 1]
    mlp = None
    trm = tr[np.isfinite(logd[tr])]
    from sklearn.ensemble import ExtraTreesRegressor
    rg = ExtraTreesRegressor(60, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED).fit(F[trm], logd[trm]).predict(F[tel])
    for name in WHICH:
        if name == "c_base": s = base
        elif name == "c_glass": s = pg
        elif name == "c_cond": s = pb
        elif name == "c_chain": s = np.log(np.clip(pg, 1e-3, 1)) + np.log(np.clip(pb, 1e-3, 1))
        elif name.startswith("c_mix") and not name.startswith("c_mixna"): s = lg(base) + float(name[5:]) * np.log(np.clip(pg, 1e-3, 1))
        elif name.startswith("c_mixna"):  # glass forest without the ambiguous bulk glasses
            pg2 = C().fit(F[trl], glass[trl]).predict_proba(F[tel])[:, 1]
            s = lg(base) + float(name[7:]) * np.log(np.clip(pg2, 1e-3, 1))
        elif name == "c_gstack":  # log P(glass) as a feature: inner grouped out-of-fold on the training rows
            g_oof = np.full(len(df), np.nan)
            for itr, ite in grouped_kfold(sysg[tr], k=5, seed=SEED):
                g_oof[tr[ite]] = C().fit(F[tr[itr]], glass[tr[itr]]).predict_proba(F[tr[ite]])[:, 1]
            Xtr = np.column_stack([F[trl], np.log(np.clip(g_oof[trl], 1e-3, 1))]); Xte = np.column_stack([F[tel], np.log(np.clip(pg, 1e-3, 1))])
            s = C().fit(Xtr, y[trl].astype(int)).predict_proba(Xte)[:, 1]
        elif name.startswith("c_mc"):
            # one multi-class forest: crystalline / glass below threshold / positive / ambiguous bulk glass
            cl = np.where(np.isnan(y), 3, np.where(y == 1, 2, glass)).astype(int)
            cw = "balanced_subsample" if "bal" in name else None
            pm = C(class_weight=cw).fit(F[tr], cl[tr]).predict_proba(F[tel])
            s = pm[:, 2] if "23" not in name else pm[:, 2] + 0.5 * pm[:, 3]
            if "lo" in name: s = np.log(np.clip(pm[:, 2], 1e-3, 1)) - np.log(np.clip(pm[:, 0] + pm[:, 1], 1e-3, 1))
        elif name.startswith("c_reg"): s = lg(base) + float(name[5:]) * rg
        elif name.startswith("c_gr"): s = lg(base) + np.log(np.clip(pg, 1e-3, 1)) + float(name[4:]) * rg
        elif name.startswith("c_mlp"):
            if mlp is None:
                from sklearn.neural_network import MLPClassifier
                from sklearn.preprocessing import StandardScaler
                sc = StandardScaler().fit(F[trl])
                m = MLPClassifier((128, 64), alpha=1e-3, max_iter=300, early_stopping=False, random_state=SEED)
                mlp = m.fit(sc.transform(F[trl]), y[trl].astype(int)).predict_proba(sc.transform(F[tel]))[:, 1]
                res.setdefault("c_mlponly", []).append(roc_auc_score(y[tel], mlp))
            w = float(name[5:]); s = (1 - w) * lg(base) + w * lg(mlp)
        res.setdefault(name, []).append(roc_auc_score(y[tel], s))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print(PROTO, SEED, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
