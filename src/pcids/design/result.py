"""DesignResult: the known alloys that already meet the targets, the ranked candidates, the
steps taken, and the files (JSON, CSV, figure), never written over an existing file unless asked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pcids.errors import PcidsError

#: Status labels, best first.
STATUS = ("meets target and GFA", "meets target, GFA check failed", "outside tolerance")
#: The label of status 1 when the GFA check passed but a constraint (at_least / at_most) did not.
STATUS_CONSTRAINTS = "meets target, constraint failed"


@dataclass
class DesignResult:
    """Ranked candidates, the steps taken, and a plain verdict.

    ``known`` lists alloys of the bundled data (elements among the design's,
    inside the bounds) whose *measured* moduli already meet the targets, closest
    first; ``explored`` is the whole ranked pool the candidates were picked from.
    """

    elements: list[str]
    targets: dict[str, float]
    candidates: pd.DataFrame
    trace: list[dict[str, Any]]
    success: bool
    message: str
    settings: dict[str, Any] = field(default_factory=dict)
    explored: pd.DataFrame | None = None  # every candidate evaluated (the pool), ranked
    known: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def best(self) -> pd.Series:
        return self.candidates.iloc[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "elements": self.elements,
            "targets": self.targets,
            "success": self.success,
            "message": self.message,
            "settings": self.settings,
            "known": json.loads(self.known.to_json(orient="records")) if len(self.known) else [],
            "candidates": json.loads(self.candidates.to_json(orient="records")),
            "trace": self.trace,
        }

    def to_json(self, path: str | Path | None = None, overwrite: bool = False) -> str:
        """JSON text (NaN -> null); written to ``path`` if given (never over a file unless asked)."""
        from pcids.cli._common import _default, _nan_to_none

        text = json.dumps(_nan_to_none(self.to_dict()), indent=2, default=_default, allow_nan=False)
        if path is not None:
            _write(Path(path), text, overwrite)
        return text

    def to_csv(self, path: str | Path, overwrite: bool = False) -> Path:
        """The candidates table as CSV; refuses to replace an existing file unless ``overwrite``."""
        path = Path(path)
        _write(path, self.candidates.to_csv(index=False), overwrite)
        return path

    def plot(self, path: str | Path | None = None, overwrite: bool = False, **kwargs: Any) -> Any:
        """Parallel coordinates of the explored band with the ranked picks marked (paper Fig. 14);
        refuses to replace an existing ``path`` unless ``overwrite``, like :meth:`to_csv`."""
        from pcids.plots.design import plot_parallel_coordinates

        if path is not None:
            _check_writable(Path(path), overwrite)
        return plot_parallel_coordinates(self, path=path, **kwargs)

    def plot_pareto(self, path: str | Path | None = None, overwrite: bool = False, **kwargs: Any) -> Any:
        """The objectives' trade-off (two axes, a third as colour) over the explored pool, the Pareto set
        ringed and the returned candidates labelled; needs two or more objectives. Refuses to replace an
        existing ``path`` unless ``overwrite``."""
        from pcids.plots.pareto import plot_pareto

        if path is not None:
            _check_writable(Path(path), overwrite)
        return plot_pareto(self, path=path, **kwargs)

    def __repr__(self) -> str:
        top = self.candidates.head(3)[["rank", "composition", "G", "K", "error", "status"]]
        return f"DesignResult({self.message})\n{top.to_string(index=False)}"


def _check_writable(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise PcidsError(f"{path} exists; pass overwrite=True (--force) to replace it")


def _write(path: Path, text: str, overwrite: bool) -> None:
    _check_writable(path, overwrite)
    path.write_text(text)
