"""Screen censored / noisy-target variants of the log10(Dmax) regressor on selection folds (seeds 1, 2; gfa_accuracy.py reports seed 0).

Run: python benchmarks/screens/gfa_censored_selection.py SEED {grouped|stratified} VARIANT[,VARIANT...]

R² of log10(Dmax) on the test alloys with a measured diameter, outer folds as
gfa_selection.py (grouped = alloy systems held out; stratified = random for the
regression set). Features = the shipped ones (GFADescriptors(families=True)).
Every regressor is the shipped extra-trees regressor (60 trees, leaf 2,
max_features 0.5) unless stated. Variants:

``base``               measured alloys only (shipped).
``rib<W>_<T>``         + ribbon glasses without a diameter (upper bound), target log10(T mm), weight W.
``bulk<W>_<T>``        + bulk glasses without a diameter (lower bound ~1 mm), target log10(T mm), weight W.
``cry<W>_<T>``         + crystalline alloys, target log10(T mm), weight W.
``mix<W>``             rib W at 0.3 mm + bulk W at 2 mm.
``mae``                criterion absolute_error (median-ish leaves; robust to mould-size bounds).
``clip<lo>_<hi>``      training targets clipped to [log10 lo, log10 hi] mm.
``med``                forest prediction = median over trees instead of the mean.
``p<K>``               two-stage: + out-of-fold log P(glass) and classifier margin (features of the
                       training fold only; inner grouped K-fold OOF for training rows, full-fold
                       forests for the test rows) — K=5 grouped inner folds, ``pr<K>`` random inner folds.
``gonly``              two-stage with log P(glass) only (glass forest, inner grouped 5-fold).
``lv<W>_<L>``          tree *structure* from measured + ribbon (0.3 mm) + bulk-without-diameter (2 mm) +
                       crystalline (0.05 mm) pseudo-targets at weight W, min_samples_leaf L; leaf *values*
                       re-estimated from the measured training alloys only (a test row whose leaf holds no
                       measured alloy skips that tree).
``tob<K><W>``          censored imputation (one Tobit-style EM step): the shipped regressor fit on the
                       measured alloys predicts m for each censored alloy; its pseudo-target is the
                       mean of N(m, s²) truncated to the bound (ribbon glass: y < log10 1 mm; bulk glass
                       without a diameter: y > log10 1 mm), s = 0.3; K = r (ribbon), b (bulk), rb (both);
                       refit on measured + censored at weight W.
``noconf``             conflict-flagged alloys left out of the regressor's training.
``nn<d>_<w>``          distance-gated neighbour blend: (1 - w') * extra trees + w' * log10 Dmax of the nearest
                       measured training alloy (L1 over atomic fractions), w' = w * max(0, 1 - dist / d).
``nnh<d>_<w>``         the same with a hard gate (w' = w when dist < d).
``st<g|r>``            de-shrink: y ~ a + b * prediction fitted on the training fold's inner 5-fold OOF
                       predictions (g = folds grouped by system as GFAModel's internal CV, r = random),
                       applied to the test predictions. ``stk<k>`` = fixed stretch mean + k (p - mean).
``u<b|g|bg>``          two-stage without nested CV: stage-1 forests (20 trees, leaf 2, class-weighted) fit on
                       the training fold's alloys *without* a measured diameter only, so their outputs on
                       measured alloys (training or test) are never memorised: b = logit P(bulk glass without a
                       diameter | glass) against ribbon glasses, g = log P(glass) against crystalline.
``avg_<X>``            mean of ``base`` and variant X (both must be listed before it).
``svr<C>``             RBF support-vector regression on standardised features (C, epsilon 0.1, gamma "scale").
``bsvr<C>_<W>``        (1 - W) * extra trees + W * svr<C>.
``krr<a>``             RBF kernel ridge (alpha a, gamma 1/n_features) on standardised features.
"""
import sys, time, numpy as np
from sklearn.ensemble import ExtraTreesRegressor, ExtraTreesClassifier
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from pcids.evaluation import grouped_kfold
from _setup import screen_setup
S = screen_setup(sys.argv, families=True)
SEED, PROTO, WHICH = S.seed, S.protocol, S.which
df, els, A, F, y, logd, sysg, outer = S.df, S.els, S.A, S.F, S.y, S.logd, S.sysg, S.folds
cls = df["gfa_class"].to_numpy()
rib = (cls == "ribbon glass") & ~np.isfinite(logd)
bulk = (cls == "bulk glass") & ~np.isfinite(logd)
cry = cls == "crystalline"
glass = np.where(cls == "crystalline", 0, 1)


def ETR(**kw):
    p = dict(n_estimators=60, min_samples_leaf=2, max_features=0.5, n_jobs=1, random_state=SEED); p.update(kw)
    return ExtraTreesRegressor(**p)


def ETC(n=60):
    return ExtraTreesClassifier(n, min_samples_leaf=2, max_features="sqrt", class_weight="balanced_subsample", n_jobs=1, random_state=SEED)


def logit_c(p):
    p = np.clip(p, 1e-3, 1 - 1e-3); return np.log(p / (1 - p))


def stage1(tr, rows, with_cls=True):
    """[log P(glass), classifier logit] for `rows` from forests fit on `tr` (all classes)."""
    g = ETC(20).fit(F[tr], glass[tr]).predict_proba(F[rows])[:, 1]
    out = [np.log(np.clip(g, 1e-3, 1))]
    if with_cls:
        trl = tr[np.isfinite(y[tr])]
        out.append(logit_c(ETC().fit(F[trl], y[trl].astype(int)).predict_proba(F[rows])[:, 1]))
    return np.column_stack(out)


def two_stage(tr, trm, tem, inner="grouped", with_cls=True):
    Ztr = np.full((len(trm), 2 if with_cls else 1), np.nan)
    if inner == "grouped":
        inn = grouped_kfold(sysg[tr], k=5, seed=SEED)
    else:
        inn = list(KFold(5, shuffle=True, random_state=SEED).split(tr))
    pos = {r: i for i, r in enumerate(trm)}
    for itr, ite in inn:
        rows = np.array([r for r in tr[ite] if r in pos], dtype=int)
        if len(rows):
            Ztr[[pos[r] for r in rows]] = stage1(tr[itr], rows, with_cls)
    Zte = stage1(tr, tem, with_cls)
    return ETR().fit(np.column_stack([F[trm], Ztr]), logd[trm]).predict(np.column_stack([F[tem], Zte]))


def pseudo(tr, trm, parts):
    """training rows, targets, weights: measured + (mask, target mm, weight) parts."""
    rows, t, w = [trm], [logd[trm]], [np.ones(len(trm))]
    for mask, T, W in parts:
        r = tr[mask[tr]]
        rows.append(r); t.append(np.full(len(r), np.log10(T))); w.append(np.full(len(r), W))
    return np.concatenate(rows), np.concatenate(t), np.concatenate(w)


res = {}; preds = {}
for f, (tr, te) in enumerate(outer):
    trm = tr[np.isfinite(logd[tr])]; tem = te[np.isfinite(logd[te])]
    t0 = time.time()
    for name in WHICH:
        if name == "base":
            p = ETR().fit(F[trm], logd[trm]).predict(F[tem])
        elif name.startswith("avg_"):
            p = 0.5 * (preds["base"] + preds[name[4:]])
        elif name[:3] in ("rib", "cry") or name.startswith("bulk") or name.startswith("mix"):
            if name.startswith("mix"):
                W = float(name[3:]); parts = [(rib, 0.3, W), (bulk, 2.0, W)]
            else:
                k = 4 if name.startswith("bulk") else 3
                W, T = map(float, name[k:].split("_"))
                parts = [({"rib": rib, "cry": cry, "bulk": bulk}[name[:k]], T, W)]
            r, t, w = pseudo(tr, trm, parts)
            p = ETR().fit(F[r], t, sample_weight=w).predict(F[tem])
        elif name.startswith("lv"):
            W, L = name[2:].split("_"); W = float(W); L = int(L)
            r, t, w = pseudo(tr, trm, [(rib, 0.3, W), (bulk, 2.0, W), (cry, 0.05, W)])
            m = ETR(min_samples_leaf=L).fit(F[r], t, sample_weight=w)
            num = np.zeros(len(tem)); cnt = np.zeros(len(tem))
            for e in m.estimators_:
                lm = e.apply(F[trm].astype(np.float32)); lt = e.apply(F[tem].astype(np.float32))
                n = e.tree_.node_count
                s_ = np.bincount(lm, weights=logd[trm], minlength=n); c_ = np.bincount(lm, minlength=n)
                ok = c_[lt] > 0
                num[ok] += s_[lt][ok] / c_[lt][ok]; cnt[ok] += 1
            p = np.where(cnt > 0, num / np.maximum(cnt, 1), logd[trm].mean())
        elif name.startswith("tob"):
            from scipy.stats import norm
            K = "rb" if name.startswith("tobrb") else name[3]; W = float(name[3 + len(K):])
            m0 = ETR().fit(F[trm], logd[trm]); sd = 0.3
            rows, t, w = [trm], [logd[trm]], [np.ones(len(trm))]
            if "r" in K:
                r = tr[rib[tr]]; mu = m0.predict(F[r]); a = (0.0 - mu) / sd
                rows.append(r); t.append(mu - sd * norm.pdf(a) / np.maximum(norm.cdf(a), 1e-12)); w.append(np.full(len(r), W))
            if "b" in K:
                r = tr[bulk[tr]]; mu = m0.predict(F[r]); a = (0.0 - mu) / sd
                rows.append(r); t.append(mu + sd * norm.pdf(a) / np.maximum(norm.sf(a), 1e-12)); w.append(np.full(len(r), W))
            r, t, w = np.concatenate(rows), np.concatenate(t), np.concatenate(w)
            p = ETR().fit(F[r], t, sample_weight=w).predict(F[tem])
        elif name == "noconf":
            ok = trm[~df["conflict"].to_numpy()[trm]]
            p = ETR().fit(F[ok], logd[ok]).predict(F[tem])
        elif name.startswith("nn"):
            from sklearn.neighbors import NearestNeighbors
            hard = name.startswith("nnh"); d0, w0 = map(float, name[3 if hard else 2:].split("_"))
            dist, idx = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(A[trm]).kneighbors(A[tem])
            dist = dist[:, 0]; ynn = logd[trm][idx[:, 0]]
            wt = w0 * ((dist < d0).astype(float) if hard else np.clip(1 - dist / d0, 0, 1))
            p = (1 - wt) * ETR().fit(F[trm], logd[trm]).predict(F[tem]) + wt * ynn
        elif name.startswith("stk"):
            k = float(name[3:]); mu = logd[trm].mean()
            p = mu + k * (ETR().fit(F[trm], logd[trm]).predict(F[tem]) - mu)
        elif name in ("stg", "str"):
            inn = grouped_kfold(sysg[trm], k=5, seed=SEED) if name == "stg" else list(KFold(5, shuffle=True, random_state=SEED).split(trm))
            o = np.full(len(trm), np.nan)
            for itr, ite in inn:
                o[ite] = ETR().fit(F[trm[itr]], logd[trm[itr]]).predict(F[trm[ite]])
            b, a = np.polyfit(o, logd[trm], 1)
            p = a + b * ETR().fit(F[trm], logd[trm]).predict(F[tem])
            print(name, "slope", round(b, 3), end="; ")
        elif name[0] == "u" and name[1:] in ("b", "g", "bg"):
            um = tr[~np.isfinite(logd[tr])]
            Z = []
            if "b" in name:
                gl = um[cls[um] != "crystalline"]
                pb = ETC(20).fit(F[gl], (cls[gl] == "bulk glass").astype(int))
                Z.append(lambda X, pb=pb: logit_c(pb.predict_proba(X)[:, 1]))
            if "g" in name:
                pgf = ETC(20).fit(F[um], glass[um])
                Z.append(lambda X, pgf=pgf: np.log(np.clip(pgf.predict_proba(X)[:, 1], 1e-3, 1)))
            aug = lambda X: np.column_stack([X] + [z(X) for z in Z])
            p = ETR().fit(aug(F[trm]), logd[trm]).predict(aug(F[tem]))
        elif name == "mae":
            p = ETR(criterion="absolute_error").fit(F[trm], logd[trm]).predict(F[tem])
        elif name.startswith("clip"):
            lo, hi = map(float, name[4:].split("_"))
            p = ETR().fit(F[trm], np.clip(logd[trm], np.log10(lo), np.log10(hi))).predict(F[tem])
        elif name == "med":
            m = ETR().fit(F[trm], logd[trm])
            p = np.median([e.predict(F[tem]) for e in m.estimators_], axis=0)
        elif name.startswith("pr"):
            p = two_stage(tr, trm, tem, inner="random")
        elif name.startswith("p"):
            p = two_stage(tr, trm, tem)
        elif name == "gonly":
            p = two_stage(tr, trm, tem, with_cls=False)
        elif name.startswith("svr") or name.startswith("bsvr"):
            from sklearn.svm import SVR
            from sklearn.preprocessing import StandardScaler
            C, W = (float(name[3:]), 1.0) if name.startswith("svr") else map(float, name[4:].split("_"))
            sc = StandardScaler().fit(F[trm])
            ps = SVR(C=C, epsilon=0.1).fit(sc.transform(F[trm]), logd[trm]).predict(sc.transform(F[tem]))
            p = ps if W == 1.0 else (1 - W) * ETR().fit(F[trm], logd[trm]).predict(F[tem]) + W * ps
        elif name.startswith("krr"):
            from sklearn.kernel_ridge import KernelRidge
            from sklearn.preprocessing import StandardScaler
            sc = StandardScaler().fit(F[trm]); mu = logd[trm].mean()
            p = mu + KernelRidge(alpha=float(name[3:]), kernel="rbf", gamma=1.0 / F.shape[1]).fit(sc.transform(F[trm]), logd[trm] - mu).predict(sc.transform(F[tem]))
        else:
            raise SystemExit(f"unknown variant {name}")
        preds[name] = p
        res.setdefault(name, []).append(r2_score(logd[tem], p))
    print(f, {k: round(v[-1], 4) for k, v in res.items()}, f"{time.time()-t0:.0f}s", flush=True)
print(PROTO, SEED, {k: (round(float(np.mean(v)), 4), round(float(np.std(v)), 3)) for k, v in res.items()})
