"""SHAP explanations of the forward ensembles (paper Figs. 4-5), via the shap library.

With only a handful of descriptors (the shipped models take five: 30
coalitions besides the empty and the full one), shap's KernelExplainer
enumerates every feature coalition, so the values are the exact interventional Shapley values against
the background sample (not a Monte-Carlo estimate). The explained function is
the ensemble mean (``ElasticModel.predict_descriptors``). Background: a seeded
sample of the training alloys' descriptors; explained points: the training
alloys themselves, as in the paper.

``sign_change`` reports where the SHAP value of a descriptor crosses zero
(linear interpolation along the sorted descriptor, averaged over crossings of
a running median): the paper reads r = 147 pm off its Fig. 5.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pcids.composition import Composition
from pcids.errors import PcidsError

TARGETS = ("G", "K")


@dataclass
class ShapResult:
    """SHAP values of one target: per alloy and descriptor, plus summaries."""

    target: str
    values: pd.DataFrame  # alloys x descriptors (GPa)
    descriptors: pd.DataFrame  # the explained inputs
    base_value: float
    importance: pd.Series = field(init=False)  # mean |SHAP|, descending

    def __post_init__(self) -> None:
        self.importance = self.values.abs().mean().sort_values(ascending=False)

    @property
    def ranking(self) -> list[str]:
        return list(self.importance.index)

    def sign_change(self, feature: str = "r", window: int = 15) -> float:
        """Descriptor value where the (running-median) SHAP crosses zero; NaN if it never does."""
        x = self.descriptors[feature].to_numpy()
        order = np.argsort(x, kind="stable")
        xs = x[order]
        s = pd.Series(self.values[feature].to_numpy()[order]).rolling(window, center=True, min_periods=1).median().to_numpy()
        idx = np.nonzero(np.diff(np.sign(s)) != 0)[0]
        if len(idx) == 0:
            return float("nan")
        crossings = [xs[i] - s[i] * (xs[i + 1] - xs[i]) / (s[i + 1] - s[i]) if s[i + 1] != s[i] else xs[i] for i in idx]
        return float(np.mean(crossings))


def shap_values(
    model: Any = None,
    compositions: Iterable[Any] | None = None,
    background: int = 100,
    seed: int = 0,
    n_alloys: int | None = None,
) -> dict[str, ShapResult]:
    """SHAP values of G and K for ``compositions`` (default: the training alloys,
    or a seeded sample of ``n_alloys`` of them; shap's kernel loop costs ~0.1 s per alloy).

    ``model`` is an :class:`~pcids.models.ensemble.ElasticModel` (default: the shipped one).
    """
    import shap
    from threadpoolctl import threadpool_limits

    from pcids.datasets import load_elastic
    from pcids.models.ensemble import load_elastic_model

    if background < 10:
        raise PcidsError(f"background must be at least 10 alloys, got {background}")
    model = model if model is not None else load_elastic_model()
    train = load_elastic()["formula"]
    X_train = model.descriptors().transform(train)
    if compositions is None:
        comps, X = list(train), X_train
        if n_alloys is not None:
            if n_alloys < 1:
                raise PcidsError(f"n_alloys must be positive, got {n_alloys}")
            pick = np.sort(np.random.default_rng(seed).permutation(len(comps))[: min(n_alloys, len(comps))])
            comps, X = [comps[i] for i in pick], X[pick]
    else:
        parsed = [Composition.coerce(c) for c in compositions]
        if not parsed:
            raise PcidsError("no compositions to explain")
        comps, X = [c.formula for c in parsed], model.descriptors().transform(parsed)
    bg = shap.sample(X_train, min(background, len(X_train)), random_state=seed)
    out = {}
    # shap calls the model with a few thousand rows at a time: BLAS threads only add overhead
    with threadpool_limits(1, user_api="blas"):
        values = {}
        for j, t in enumerate(TARGETS):
            explainer = shap.KernelExplainer(lambda A, j=j: model.predict_descriptors(A)[0][:, j].astype(np.float64), bg)
            values[t] = (explainer.shap_values(X, nsamples=2 ** len(model.features_) + 2, silent=True), explainer.expected_value)
    for t, (vals, expected) in values.items():
        out[t] = ShapResult(
            target=t,
            values=pd.DataFrame(vals, columns=list(model.features_), index=comps),
            descriptors=pd.DataFrame(X, columns=list(model.features_), index=comps),
            base_value=float(np.ravel(expected)[0]),
        )
    return out
