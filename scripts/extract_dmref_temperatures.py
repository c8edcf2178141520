"""Extract src/pcids/data/dmref_v5_characteristic_temperatures.csv from the DMREF v5 file.

Run once by a developer: ``python scripts/extract_dmref_temperatures.py SOURCE.csv``
where SOURCE is the UW-Madison DMREF compilation
(leschultz/Molecular-Dynamic-Characteristic-Temperatures,
``features/MDF_DMREF_Metallic_Glasses_v5.csv``, MIT). The package bundles a
trimmed copy of the same file for glass-forming ability without its
temperature columns; this script keeps the rows that give at least one of
``Tg_[K]``, ``Tx_[K]``, ``Tl_[K]`` and the columns needed to trace them. Values
are copied byte for byte (Python's ``csv`` module, no float round trip): all
cleaning happens in ``pcids.datasets``, where it is tested.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "pcids" / "data" / "dmref_v5_characteristic_temperatures.csv"
COLUMNS = ("_id", "Composition", "Tg_[K]", "Tx_[K]", "Tl_[K]", "From", "DOI")
TEMPERATURES = ("Tg_[K]", "Tx_[K]", "Tl_[K]")


def main(source: Path) -> None:
    with source.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    kept = [r for r in rows if any((r[c] or "").strip() for c in TEMPERATURES)]
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    print(f"kept {len(kept)} of {len(rows)} rows (those with Tg, Tx or Tl) in {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/extract_dmref_temperatures.py MDF_DMREF_Metallic_Glasses_v5.csv")
    main(Path(sys.argv[1]))
