"""Build src/pcids/data/magpie_ground_state.csv from matminer's copy of the Magpie tables.

Run once by a developer (``pip install --no-deps matminer``, then
``python scripts/build_magpie_ground_state.py``); the package only reads the
CSV, so matminer is not needed at run time.

Source: the elemental property tables of Magpie (L. Ward, A. Agrawal,
A. Choudhary, C. Wolverton, npj Comput. Mater. 2 (2016) 16028), as shipped by
matminer (``matminer/utils/data_files/magpie_elementdata/<Property>.table``,
one line per atomic number). Four ground-state (DFT, OQMD) properties of the
elemental solid: volume per atom (A^3), band gap (eV), magnetic moment
(mu_B per atom) and the space-group number of its ground-state structure. A
value marked Missing is replaced by the table's mean over the elements that
have one (matminer's ``impute_nan``); for the elements pcids supports only
SpaceGroupNumber has gaps (none among them, checked at build time).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "pcids" / "data" / "magpie_ground_state.csv"
TABLES = {"gs_volume_pa": "GSvolume_pa", "gs_bandgap": "GSbandgap", "gs_magmom": "GSmagmom", "gs_space_group": "SpaceGroupNumber"}


def read_table(name: str) -> np.ndarray:
    text = resources.files("matminer.utils.data_files").joinpath(f"magpie_elementdata/{name}.table").read_text()
    vals = []
    for line in text.splitlines():
        try:
            vals.append(float(line.strip()))
        except ValueError:  # "Missing"
            vals.append(np.nan)
    return np.array(vals)


def main() -> None:
    el = pd.read_csv(ROOT / "src" / "pcids" / "data" / "elements.csv", comment="#")[["symbol", "Z"]]
    out = el.copy()
    for col, name in TABLES.items():
        v = read_table(name)
        raw = v[el["Z"].to_numpy() - 1]
        imputed = int(np.isnan(raw).sum())
        out[col] = np.where(np.isfinite(raw), raw, np.nanmean(v))
        print(f"{name}: {imputed} of {len(el)} pcids elements imputed")
    with OUT.open("w") as fh:
        fh.write(
            "# Ground-state (OQMD DFT) properties of the elemental solids from the Magpie tables (L. Ward et al., "
            "npj Comput. Mater. 2 (2016) 16028) via matminer magpie_elementdata; built by scripts/build_magpie_ground_state.py\n"
        )
        out.to_csv(fh, index=False)  # shortest round-trip repr: the values are bit-identical to the tables
    print(f"wrote {len(out)} elements to {OUT}")


if __name__ == "__main__":
    main()
