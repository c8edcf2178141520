"""Build src/pcids/data/takeuchi2005_mixing_enthalpy.csv from matminer's copy.

Run once by a developer (``pip install --no-deps matminer``, then
``python scripts/build_mixing_enthalpy.py``); the package only reads the CSV,
so matminer is not needed at run time.

Source: the Miedema-model liquid mixing enthalpies of equiatomic binary
pairs, Delta H^mix_AB (kJ/mol), tabulated by A. Takeuchi and A. Inoue,
Mater. Trans. 46 (2005) 2817-2829, as shipped by matminer
(``matminer/utils/data_files/MiedemaLiquidDeltaHf.tsv``, used by its
``MixingEnthalpy`` class and the Yang / Wen alloy featurizers).
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "pcids" / "data" / "takeuchi2005_mixing_enthalpy.csv"


def main() -> None:
    src = resources.files("matminer.utils.data_files").joinpath("MiedemaLiquidDeltaHf.tsv").read_text()
    rows = []
    for line in src.splitlines()[1:]:
        parts = line.split()
        if len(parts) != 3:
            continue
        a, b = sorted(parts[:2])
        rows.append((a, b, float(parts[2])))
    rows = sorted(set(rows))
    with OUT.open("w", newline="") as fh:
        fh.write(
            "# Miedema liquid mixing enthalpy of equiatomic binary pairs (kJ/mol): A. Takeuchi, A. Inoue, "
            "Mater. Trans. 46 (2005) 2817-2829; via matminer MiedemaLiquidDeltaHf.tsv; built by "
            "scripts/build_mixing_enthalpy.py\n"
        )
        w = csv.writer(fh)
        w.writerow(["elem_a", "elem_b", "dh_kj_mol"])
        for a, b, h in rows:
            w.writerow([a, b, f"{h:g}"])
    print(f"wrote {len(rows)} pairs to {OUT}")


if __name__ == "__main__":
    main()
