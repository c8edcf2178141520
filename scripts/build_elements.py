"""Build src/pcids/data/elements.csv from pymatgen and mendeleev.

Run once by a developer (``python scripts/build_elements.py``); the package
only reads the CSV, so neither library is needed at run time.

Column sources (checked against the PCIDS paper's values where it gives them):

- ``vec``: valence electrons counting d electrons, the metallic-glass
  convention: group number for groups 1-12, group - 10 for groups 13-18, 3 for
  lanthanides and actinides (Cu 11, Ni 10, Fe 8, Zr 4, Al 3, Be 2). Group from
  pymatgen. mendeleev's ``nvalence`` counts 4f electrons (Gd 10) and Magpie's
  NValence counts full shells (Sn 14), so neither is used.
- ``tm_K``: melting point, pymatgen ``Element.melting_point`` (complete here;
  mendeleev lacks C, P, Sn, Tb, Yb).
- ``chi``: Pauling electronegativity, pymatgen ``Element.X``.
- ``r_pm``: metallic radius for 12-fold coordination. pymatgen's
  ``metallic_radius`` (x100, matches the paper: Zr 160, Ti 147, Cu 128, Ni 124,
  Al 143, Be 112) first; where it is missing (B, C, Si, P, Ge, Sn, Pb, Bi, Sb,
  S, As, Te, H, N) mendeleev's ``metallic_radius_c12``; for O and F, which
  have neither, pymatgen's empirical ``atomic_radius``. ``r_source`` records
  which one each row used.
- ``mass``: standard atomic weight, pymatgen ``Element.atomic_mass``.
- ``rho``: density of the solid element in g/cm^3, pymatgen
  ``density_of_solid``; for H, N, O, F and Hg, which have none, mendeleev's
  ``density`` (a gas or liquid value; ``rho_source`` says so). No elastic
  data alloy contains them, so a forward prediction with them is flagged as
  an extrapolation anyway.
- ``t_boil_K``: boiling point, pymatgen ``Element.boiling_point`` (a proxy
  for the cohesive energy; complete here).
- ``k_GPa``, ``g_GPa``: bulk and shear modulus of the element, for the
  rule-of-mixtures inputs of the forward models. pymatgen's
  ``bulk_modulus`` / ``rigidity_modulus`` (WebElements) first. Exceptions,
  recorded per row in ``k_source`` / ``g_source``: Mo's listed shear modulus
  of 20 GPa contradicts its own E = 329 GPa and K = 230 GPa (which imply
  ~130 GPa) and is replaced by the handbook 126 GPa; where pymatgen has no
  value, Magpie's table (matminer, the same Mathematica lineage: Mn's shear
  modulus 78 GPa), else the JARVIS-DFT Voigt modulus bundled with matminer
  (``jarvis/element_chem.json``: K of Zr, Ge, Sr; G of B, C, Si, P, Ge and
  the gases). Left empty where no source has a value (G of Cs): a model that
  needs it then refuses the element by name.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
from mendeleev import element as mendeleev_element  # noqa: E402
from pymatgen.core import Element  # noqa: E402

# Every element in the bundled data, plus the other metals and metalloids an
# alloy designer may name (no radioactive-only elements apart from Th and U).
ELEMENTS = """Li Be B C N O F H Na Mg Al Si P S K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As
Se Rb Sr Y Zr Nb Mo Ru Rh Pd Ag Cd In Sn Sb Te Cs Ba La Ce Pr Nd Sm Eu Gd Tb Dy Ho
Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Th U""".split()

OUT = Path(__file__).resolve().parents[1] / "src" / "pcids" / "data" / "elements.csv"


def vec(el: Element) -> int:
    if el.is_lanthanoid or el.is_actinoid:
        return 3
    g = el.group
    return g if g <= 12 else g - 10


def radius(el: Element) -> tuple[float, str]:
    if el.metallic_radius is not None and float(el.metallic_radius) > 0:
        return round(float(el.metallic_radius) * 100, 1), "pymatgen.metallic_radius"
    m = mendeleev_element(el.symbol).metallic_radius_c12
    if m is not None:
        return float(m), "mendeleev.metallic_radius_c12"
    return round(float(el.atomic_radius) * 100, 1), "pymatgen.atomic_radius"


def density(el: Element) -> tuple[float, str]:
    if el.density_of_solid is not None:
        return round(float(el.density_of_solid) / 1000.0, 4), "pymatgen.density_of_solid"
    return round(float(mendeleev_element(el.symbol).density), 6), "mendeleev.density"


MO_SHEAR_GPA = 126.0  # handbook value; WebElements' 20 GPa is an erratum (see the docstring)


def _magpie(table: str) -> list[str]:
    import matminer

    path = Path(matminer.__file__).parent / "utils" / "data_files" / "magpie_elementdata" / f"{table}.table"
    return path.read_text().split("\n")


def _jarvis(symbol: str, key: str) -> float:
    import json

    import matminer

    path = Path(matminer.__file__).parent / "utils" / "data_files" / "jarvis" / "element_chem.json"
    return float(json.loads(path.read_text()).get(symbol, {}).get(key, 0.0))


def modulus(el: Element, kind: str) -> tuple[float, str]:
    """Elemental bulk (``"K"``) or shear (``"G"``) modulus in GPa and its source."""
    if kind == "G" and el.symbol == "Mo":
        return MO_SHEAR_GPA, "handbook (WebElements erratum)"
    attr, table, key = ("bulk_modulus", "BulkModulus", "KV") if kind == "K" else ("rigidity_modulus", "ShearModulus", "GV")
    value = getattr(el, attr)
    if value is not None:
        return float(value), f"pymatgen.{attr}"
    magpie = _magpie(table)[el.Z - 1].strip()
    if magpie and magpie != "Missing":
        return float(magpie), f"magpie.{table}"
    dft = _jarvis(el.symbol, key)
    if dft > 0:
        return round(dft, 3), f"jarvis_dft.{key}"
    return float("nan"), "none"


def main() -> None:
    rows = []
    for sym in ELEMENTS:
        el = Element(sym)
        r, src = radius(el)
        rho, rho_src = density(el)
        row = {
            "symbol": sym,
            "Z": el.Z,
            "vec": vec(el),
            "tm_K": round(float(el.melting_point), 2),
            "chi": float(el.X),
            "r_pm": r,
            "mass": round(float(el.atomic_mass), 5),
            "r_source": src,
            "rho": rho,
            "t_boil_K": round(float(el.boiling_point), 2),
            "rho_source": rho_src,
        }
        assert all(v == v for v in row.values()), row  # no NaN
        for kind in ("K", "G"):
            row[f"{kind.lower()}_GPa"], row[f"{kind.lower()}_source"] = modulus(el, kind)
        rows.append(row)
    rows.sort(key=lambda r: r["Z"])
    with OUT.open("w", newline="") as fh:
        fh.write("# Elemental properties for pcids; built by scripts/build_elements.py from pymatgen and mendeleev.\n")
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} elements to {OUT}")


if __name__ == "__main__":
    main()
