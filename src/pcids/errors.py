"""Exception hierarchy: every error pcids raises on bad input is a PcidsError.

Subclasses also derive from the built-in they refine (ValueError, KeyError...)
so callers that catch the standard exceptions keep working. NotFittedError
also derives from scikit-learn's; it is created on first use (module
``__getattr__``) so that importing pcids does not import scikit-learn.
"""

from __future__ import annotations

from typing import Any


class PcidsError(Exception):
    """Base class of all pcids errors."""


class FormulaError(PcidsError, ValueError):
    """An alloy formula could not be parsed.

    Carries the offending ``formula``, the 0-based ``position`` of the bad
    token (or ``None``) and the ``token`` itself, so tools can point at it.
    """

    def __init__(self, message: str, formula: str = "", position: int | None = None, token: str = ""):
        self.formula = formula
        self.position = position
        self.token = token
        if formula and position is not None:
            message = f"{message} in {formula!r} at position {position}\n    {formula}\n    {' ' * position}^"
        elif formula:
            message = f"{message} in {formula!r}"
        super().__init__(message)


class UnknownElementError(FormulaError):
    """A symbol is not a chemical element."""


class UnsupportedElementError(PcidsError, KeyError):
    """An element is real but pcids has no property data for it."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class CompositionError(PcidsError, ValueError):
    """Fractions that do not describe a valid composition."""


class DataError(PcidsError, ValueError):
    """Data or hyperparameters a model cannot use (wrong shape, NaN, complex, sparse, out of range)."""


class DataTypeError(DataError, TypeError):
    """Data of a type a model cannot take (e.g. objects in X); also a TypeError, as scikit-learn raises."""


class ModelFileError(PcidsError, OSError):
    """A saved model is missing, corrupted, truncated or does not match."""


class DesignError(PcidsError, ValueError):
    """A design request that cannot be satisfied as stated."""


class ScreenError(PcidsError, ValueError):
    """A screen request (palette, sizes, output directory, cluster) that cannot be carried out."""


class ExtrapolationWarning(UserWarning):
    """A request lies outside the data the models were trained on."""


def _not_fitted_error() -> type:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(PcidsError, SklearnNotFittedError):
        """A model was used before ``fit`` (or ``load``); also scikit-learn's NotFittedError."""

    NotFittedError.__module__, NotFittedError.__qualname__ = __name__, "NotFittedError"
    return NotFittedError


def __getattr__(name: str) -> Any:
    if name == "NotFittedError":
        cls = globals()["NotFittedError"] = _not_fitted_error()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
