"""ScreenResult: the ranked systems, their best compositions, the refined designs, and how it ran."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _clean(o: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN to None."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in df.to_dict(orient="records")]


def _grouped(df: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Records per system, in table order, without the system column: one conversion for the whole
    table (a frame per system cost minutes on a 21,489-system screen)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in _records(df):
        out.setdefault(r.pop("system"), []).append(r)
    return out


@dataclass
class ScreenResult:
    """``systems``: one row per system, best first; ``candidates``: each system's best coarse
    compositions; ``refined``: the full-resolution designs of the top systems."""

    systems: pd.DataFrame
    candidates: pd.DataFrame
    refined: pd.DataFrame
    settings: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None

    def to_dict(self, max_systems: int | None = None) -> dict[str, Any]:
        """Settings, stats, and the ranked systems each with its candidates (and refined designs)."""
        systems = self.systems if max_systems is None else self.systems.head(max_systems)
        by_sys = _grouped(self.candidates[self.candidates["system"].isin(systems["system"])])
        ref = _grouped(self.refined) if len(self.refined) else {}
        rows = []
        for r in _records(systems):
            r["candidates"] = by_sys.get(r["system"], [])
            if r["system"] in ref:
                r["refined_candidates"] = ref[r["system"]]
            rows.append(r)
        return {"settings": _clean(self.settings), "stats": _clean(self.stats), "systems": rows}

    def to_json(self, path: str | Path | None = None, max_systems: int | None = None) -> str:
        text = json.dumps(self.to_dict(max_systems), indent=1, allow_nan=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    def __repr__(self) -> str:
        best = self.systems.iloc[0] if len(self.systems) else None
        head = f"ScreenResult({len(self.systems)} systems"
        return head + (f", best {best['system']}: {best['best']} (score {best['score']:.3g}))" if best is not None else ")")
