"""The full-resolution step for the screen's best systems: ``pcids design`` on each, ranked by design itself."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pcids.errors import DesignError, ExtrapolationWarning
from pcids.screen import ranking
from pcids.screen.coarse import Spec, user_models

COLUMNS = [
    "system", "candidate", "composition", "G", "G_std", "K", "K_std", "E", "E_std", "nu", "nu_std", "error",
    "status", "p_target", "log_density", "p_gfa", "dmax_mm", "dmax_if_glass_mm", "gfa_pass", "score", "design_score", "nearest_known", "nearest_L1", "in_domain", "message",
]


def refine_system(system: Sequence[str], spec: Spec, top_k: int) -> pd.DataFrame:
    """``design(system, targets, h=1)``'s candidates in design's order, scored as the coarse search scores:
    ``score`` is design's likelihood score without its predictor term (a screen has no predictor; design's
    own is ``design_score``), and a system no known glass former touches gets the screen's plausibility
    floor. One row with the reason if design cannot run."""
    from pcids.design import design
    from pcids.design.objectives import objective_columns

    name = "-".join(system)
    bounds = {e: b for e, b in spec.bounds.items() if e in system}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)  # in_domain says it per candidate
            res = design(
                list(system), spec.targets, at_least=spec.at_least, at_most=spec.at_most, confidence=spec.confidence,
                maximize=list(spec.maximize), minimize=list(spec.minimize), models=user_models(spec.models),
                tolerance=spec.tolerance, relative=spec.relative, top_k=top_k, gfa_threshold_mm=spec.gfa_threshold_mm, bounds=bounds,
            )
    except DesignError as exc:
        return pd.DataFrame([{"system": name, "candidate": 0, "message": f"not refined: {exc}"}]).reindex(columns=COLUMNS)
    df = res.candidates.rename(columns={"rank": "candidate", "score": "design_score"})
    ospec = spec.objectives()
    if res.settings.get("n_reference_alloys", 1) == 0:
        df["log_density"] = ranking.no_reference_log_density()
    p_c = df["p_constraints"].to_numpy(float) if ospec.constraints else None
    df["score"] = ranking.score(df["p_target"].to_numpy(float), df["log_density"].to_numpy(float), df["p_gfa"].to_numpy(float), p_c)
    df["system"], df["message"] = name, res.message
    out = df.reindex(columns=COLUMNS + [c for c in objective_columns(ospec, list(df.columns)) if c not in COLUMNS])
    return out.astype({"candidate": np.int64, "gfa_pass": bool, "in_domain": bool})
