"""A screen's output directory: the manifest, one Parquet part per finished task, the final tables.

Parts are written atomically (a hidden temporary file, then a rename), so a
killed run leaves only whole parts; ``--resume`` reruns the batches without
one. Layout::

    manifest.json                       what was asked (checked on --resume)
    coarse/n_elements=N/batch-000123.parquet   per batch, as it completes
    refined/Zr-Cu-Al.parquet            per refined system
    systems.csv, candidates.csv, refined.csv, screen.json
    systems/, candidates/               the tables as Parquet, partitioned by n_elements
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from pcids.errors import ScreenError

MANIFEST = "manifest.json"
#: What --force may remove: only what a screen writes.
OWNED = ("manifest.json", "coarse", "refined", "systems", "candidates", "systems.csv", "candidates.csv", "refined.csv", "screen.json")
_BATCH = re.compile(r"batch-(\d+)\.parquet$")


def write_atomic(path: Path, write: Any) -> None:
    """``write(tmp_path)`` then rename onto ``path``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


class Store:
    """Parts and results under ``root``; see the module docstring."""

    def __init__(self, root: Path):
        self.root = Path(root)

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path, manifest: dict[str, Any], resume: bool, force: bool) -> tuple[Store, set[int]]:
        """A store for a new run, or for resuming the one recorded in ``root``; returns the finished batch ids."""
        root = Path(root)
        if resume and force:
            raise ScreenError("--resume continues the screen in --out; --force starts it afresh: give one of them")
        if root.exists() and not root.is_dir():
            raise ScreenError(f"--out {root} exists and is not a directory")
        store = cls(root)
        old = root / MANIFEST
        if resume:
            if not old.is_file():
                raise ScreenError(f"--resume: {root} holds no screen to continue (no {MANIFEST}); run without --resume")
            store._check_same(json.loads(old.read_text()), manifest)
            return store, store.done_batches()
        if root.exists() and any(root.iterdir()):
            if not force:
                raise ScreenError(f"--out {root} exists and is not empty; pass --resume to continue its screen or --force to replace it")
            for name in OWNED:
                p = root / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
        root.mkdir(parents=True, exist_ok=True)
        write_atomic(old, lambda p: p.write_text(json.dumps(manifest, indent=2)))
        return store, set()

    @staticmethod
    def _check_same(old: dict[str, Any], new: dict[str, Any]) -> None:
        keys = sorted(k for k in set(old) | set(new) if k != "n_systems" and old.get(k) != new.get(k))
        if keys:
            diff = "; ".join(f"{k}: was {old.get(k)!r}, now {new.get(k)!r}" for k in keys)
            raise ScreenError(f"--resume: the screen in --out was started with other settings ({diff}); rerun with those, or use --force to start afresh")

    # -- parts ------------------------------------------------------------------
    def batch_path(self, batch: int, n_elements: int) -> Path:
        return self.root / "coarse" / f"n_elements={n_elements}" / f"batch-{batch:06d}.parquet"

    def done_batches(self) -> set[int]:
        return {int(m.group(1)) for p in (self.root / "coarse").glob("n_elements=*/batch-*.parquet") if (m := _BATCH.search(p.name))}

    def write_batch(self, batch: int, n_elements: int, part: pd.DataFrame) -> None:
        write_atomic(self.batch_path(batch, n_elements), lambda p: part.drop(columns="n_elements").to_parquet(p, index=False))

    def read_coarse(self) -> pd.DataFrame:
        frames = []
        for p in sorted((self.root / "coarse").glob("n_elements=*/batch-*.parquet")):
            df = pd.read_parquet(p)
            df.insert(2, "n_elements", int(p.parent.name.split("=")[1]))
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def refined_path(self, system: str) -> Path:
        return self.root / "refined" / f"{system}.parquet"

    def write_refined(self, system: str, part: pd.DataFrame) -> None:
        write_atomic(self.refined_path(system), lambda p: part.to_parquet(p, index=False))

    def read_refined(self, system: str) -> pd.DataFrame | None:
        p = self.refined_path(system)
        return pd.read_parquet(p) if p.is_file() else None

    # -- final tables -------------------------------------------------------------
    def write_tables(self, tables: dict[str, pd.DataFrame], summary: dict[str, Any]) -> None:
        """CSV per table, Parquet partitioned by n_elements for systems and candidates, and screen.json."""
        for name, df in tables.items():
            write_atomic(self.root / f"{name}.csv", lambda p, df=df: df.to_csv(p, index=False))
            if name in ("systems", "candidates") and len(df):
                d = self.root / name
                if d.exists():
                    shutil.rmtree(d)
                df.to_parquet(d, partition_cols=["n_elements"], index=False)
        write_atomic(self.root / "screen.json", lambda p: p.write_text(json.dumps(summary, indent=2, allow_nan=False)))
