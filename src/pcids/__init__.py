"""pcids: predictor-corrector inverse design of metallic glasses.

Name the elements and the target shear modulus G, bulk modulus K (and the
glass-forming ability you need); pcids proposes compositions, with
predictions, error bars and the evidence behind them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from pcids.composition import Composition, parse_formula
from pcids.descriptors import PaperDescriptors, RichDescriptors, paper_descriptors
from pcids.errors import (
    CompositionError,
    DesignError,
    ExtrapolationWarning,
    FormulaError,
    ModelFileError,
    NotFittedError,
    PcidsError,
    UnknownElementError,
    UnsupportedElementError,
)

__all__ = [
    "__version__",
    "Composition",
    "parse_formula",
    "PaperDescriptors",
    "RichDescriptors",
    "paper_descriptors",
    "PcidsError",
    "FormulaError",
    "UnknownElementError",
    "UnsupportedElementError",
    "CompositionError",
    "NotFittedError",
    "ModelFileError",
    "DesignError",
    "ExtrapolationWarning",
]
