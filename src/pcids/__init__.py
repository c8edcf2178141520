"""pcids: predictor-corrector inverse design of metallic glasses.

Name the elements and the target shear modulus G, bulk modulus K (and the
glass-forming ability you need); pcids proposes compositions, with
predictions, error bars and the evidence behind them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from pcids.composition import Composition, parse_formula
from pcids.descriptors import PaperDescriptors, RichDescriptors, paper_descriptors
from pcids.corrector import correct, lattice_size
from pcids.design import DesignResult, design
from pcids.errors import (
    CompositionError,
    DesignError,
    ExtrapolationWarning,
    FormulaError,
    DataError,
    ModelFileError,
    PcidsError,
    UnknownElementError,
    UnsupportedElementError,
)

# Models (and NotFittedError, a subclass of scikit-learn's) load on first use so
# ``import pcids`` (and ``pcids --help``) stay fast.
_LAZY_MODELS = {
    "NotFittedError": "pcids.errors",
    "ForwardModel": "pcids.models.forward",
    "ForwardEnsemble": "pcids.models.ensemble",
    "ElasticModel": "pcids.models.ensemble",
    "load_elastic_model": "pcids.models.ensemble",
    "InverseModel": "pcids.models.inverse",
    "propose": "pcids.models.inverse",
    "load_inverse_model": "pcids.models.inverse",
    "GFAModel": "pcids.models.gfa",
    "load_gfa_model": "pcids.models.gfa",
    "UserPropertyModel": "pcids.models.user",
    "load_user_model": "pcids.models.user",
    "read_property_table": "pcids.user_data",
    "fit_property_model": "pcids.user_fit",
}


def __getattr__(name: str):
    module = _LAZY_MODELS.get(name)
    if module is None:
        raise AttributeError(f"module 'pcids' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "design",
    "DesignResult",
    "correct",
    "lattice_size",
    "ForwardModel",
    "ForwardEnsemble",
    "ElasticModel",
    "load_elastic_model",
    "InverseModel",
    "propose",
    "load_inverse_model",
    "GFAModel",
    "load_gfa_model",
    "UserPropertyModel",
    "load_user_model",
    "read_property_table",
    "fit_property_model",
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
    "DataError",
    "ModelFileError",
    "DesignError",
    "ExtrapolationWarning",
]
