"""scikit-learn's estimator contract, with scikit-learn imported only when it is used.

Why: ``import sklearn.base`` costs about 1 s (it pulls in scipy.stats), and
every ``pcids predict`` or ``pcids design`` loads the shipped models without
needing any of it. :class:`Estimator` and :class:`Regressor` give what
:class:`sklearn.base.BaseEstimator` and :class:`~sklearn.base.RegressorMixin`
give (``get_params``, ``set_params``, ``clone``, tags, ``score``), calling
scikit-learn's own code when one of them is used (``get_params`` and
``__repr__`` are written out: loading a model uses them). They are not
subclasses of BaseEstimator (so ``sklearn.utils.estimator_checks`` warns), but
they pass its checks (``tests/test_sklearn_conformance.py``).
"""

from __future__ import annotations

import inspect
from typing import Any


class Estimator:
    """Parameters are the ``__init__`` arguments, stored unchanged (scikit-learn's rule)."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The ``__init__`` arguments, sorted (as scikit-learn lists them)."""
        params = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in params if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameter names mapped to their values (``deep``: also those of nested estimators).

        Written out (scikit-learn's is the same loop) because loading a model
        calls it, and that must not import scikit-learn.
        """
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> Any:
        """Set parameters (``<component>__<parameter>`` for nested ones); returns self."""
        from sklearn.base import BaseEstimator

        return BaseEstimator.set_params(self, **params)

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False), transformer_tags=None, regressor_tags=None, classifier_tags=None)

    def __repr__(self) -> str:
        # scikit-learn's pretty printer only handles BaseEstimator subclasses: the
        # same form (class name and the parameters that differ from their defaults).
        sig = inspect.signature(type(self).__init__).parameters
        shown = []
        for name in self._get_param_names():
            value, default = getattr(self, name, None), sig[name].default
            if value is default or (type(value) is type(default) and _safe_equal(value, default)):
                continue
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _safe_equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays and the like: show them
        return False


class Regressor(Estimator):
    """A regressor: ``score`` is R², tags say regressor (as ``RegressorMixin``)."""

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.target_tags.required = True
        return tags

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of ``self.predict(X)`` against ``y``."""
        from sklearn.base import RegressorMixin

        return RegressorMixin.score(self, X, y, sample_weight=sample_weight)


def check_is_fitted(estimator: object, attribute: str, hint: str | None = None) -> None:
    """Raise NotFittedError naming the class, as scikit-learn does."""
    if getattr(estimator, attribute, None) is None:
        from pcids.errors import NotFittedError

        name = type(estimator).__name__
        hint = hint or f"'fit' (or '{name}.load')"
        raise NotFittedError(f"This {name} instance is not fitted yet; call {hint} first.")
