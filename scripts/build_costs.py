"""Build src/pcids/data/element_costs.csv from pymatgen's element cost database.

Run once by a developer (``pip install pymatgen`` or ``pip install -e .[dev]``,
then ``python scripts/build_costs.py``); the package only reads the CSV, so
pymatgen is not needed at run time.

Source: ``pymatgen.analysis.cost`` (MIT; S. P. Ong et al., Comput. Mater.
Sci. 68 (2013) 314), ``CostDBElements``: a price per kg of each pure element,
from Wolfram Alpha (September 2013) for most metals and Wikipedia's "Prices of
chemical elements" for the rest; the BibTeX reference of each entry is kept
(title, month, year) in the ``source`` column. The price of each element is
read through ``CostAnalyzer.get_cost_per_kg``, the library's own answer, for
the elements of ``elements.csv`` (the ones pcids can design with); the few it
has no price for are left out and named when the script runs, so pcids names
them in its error rather than inventing a price. The script then checks that
pcids' rule for an alloy (sum of mass fraction x price) gives the same price
per kg as pymatgen's convex-hull answer for a few alloys (to 1e-6: the
atomic masses of ``elements.csv`` differ from this pymatgen's in the 7th digit).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")
from pymatgen.analysis.cost import CostAnalyzer, CostDBElements  # noqa: E402
from pymatgen.core import Composition, Element  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "pcids" / "data"
OUT = DATA / "element_costs.csv"
CHECK_ALLOYS = ("Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Pd40Ni40P20", "Cu50Zr43Al7", "Fe48Cr15Mo14C15B6Y2")


def _source(bibtex: str) -> str:
    fields = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', bibtex))
    return f"{fields.get('title', '?')} ({fields.get('month', '')} {fields.get('year', '')})".replace("( ", "(")


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "src"))
    from pcids.cost import price_per_kg  # the rule the package uses, on the file just written

    symbols = pd.read_csv(DATA / "elements.csv", comment="#")["symbol"].tolist()
    db = CostDBElements()
    analyzer = CostAnalyzer(db)
    rows, missing = [], []
    for sym in symbols:
        entries = db.get_entries([Element(sym)])
        if not entries:
            missing.append(sym)
            continue
        rows.append(
            dict(symbol=sym, usd_per_kg=float(analyzer.get_cost_per_kg(sym)), source=_source(entries[0].reference))
        )
    table = pd.DataFrame(rows)
    with OUT.open("w") as fh:
        fh.write(
            "# Price of each pure element, USD per kg, from pymatgen.analysis.cost (CostDBElements; MIT); "
            "built by scripts/build_costs.py\n"
        )
        table.to_csv(fh, index=False)
    print(f"wrote {len(table)} elements to {OUT}; no price in pymatgen for: {' '.join(missing) or 'none'}")
    for formula in CHECK_ALLOYS:
        theirs = analyzer.get_cost_per_kg(Composition(formula))
        ours = float(price_per_kg(formula))
        # 1e-6: pcids' atomic masses (elements.csv) are rounded differently from this pymatgen's
        assert abs(ours - theirs) <= 1e-6 * theirs, (formula, ours, theirs)
        print(f"  {formula}: {ours:.4g} USD/kg (pymatgen {theirs:.4g})")


if __name__ == "__main__":
    main()
