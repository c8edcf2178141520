"""``pcids explain``: SHAP importance of the shipped models' descriptors for G and K (paper Figs. 4-5)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    out_dir: Path = typer.Option(Path("."), "--out-dir", "-o", help="Directory for the PNG files."),
    feature: str = typer.Option("r", help="Descriptor for the dependence plot (one of the model's inputs: VEC, Tm, chi, r, rho)."),
    background: int = typer.Option(100, help="Training alloys sampled as the SHAP background."),
    seed: int = typer.Option(0, help="Seed of the background (and --alloys) sample."),
    alloys: Optional[int] = typer.Option(None, "--alloys", help="Explain a seeded sample of this many training alloys (default: all)."),
    json_out: bool = typer.Option(False, "--json", help="Print importances and the zero crossing as JSON."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing PNG files."),
) -> None:
    """Explain the shipped G and K ensembles with SHAP on the training alloys.

    Writes shap_importance.png (mean |SHAP| per descriptor) and
    shap_dependence_<feature>.png, and prints the ranking per target.
    """
    from pcids.cli._common import console, print_json, refuse_overwrite
    from pcids.errors import PcidsError
    from pcids.models.ensemble import load_elastic_model

    features = load_elastic_model().features_
    if feature not in features:
        raise PcidsError(f"--feature must be one of {', '.join(features)}, got {feature!r}")
    if out_dir.exists() and not out_dir.is_dir():
        raise PcidsError(f"--out-dir {out_dir} is a file, not a directory")
    paths = {"importance": out_dir / "shap_importance.png", "dependence": out_dir / f"shap_dependence_{feature}.png"}
    for p in paths.values():
        refuse_overwrite(p, force)
    out_dir.mkdir(parents=True, exist_ok=True)

    from pcids.explain import shap_values
    from pcids.plots.forward import shap_dependence, shap_importance

    results = shap_values(background=background, seed=seed, n_alloys=alloys)
    shap_importance(results, paths["importance"])
    shap_dependence(results, feature, paths["dependence"])
    summary = {
        t: {
            "ranking": res.ranking,
            "mean_abs_shap_GPa": {k: float(v) for k, v in res.importance.items()},
            f"{feature}_sign_change": res.sign_change(feature),
        }
        for t, res in results.items()
    }
    if json_out:
        print_json({**summary, "files": [str(p) for p in paths.values()]})
        return
    for t, s in summary.items():
        ranked = ", ".join(f"{k} ({v:.2f} GPa)" for k, v in s["mean_abs_shap_GPa"].items())
        console.print(f"[bold]{t}[/]: {ranked}; SHAP of {feature} changes sign at {feature} = {s[f'{feature}_sign_change']:.1f}")
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
