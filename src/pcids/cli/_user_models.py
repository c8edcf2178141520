"""``--model NAME=DIR`` (repeatable): the user's own property models beside the shipped ones.

``pcids predict`` adds a column per model; ``pcids design`` scores with them
(through the property interface, ``predict_matrix``). A spec is ``NAME=DIR``
(NAME becomes the column, e.g. ``hardness=models/hv``) or just ``DIR`` (the
name the model was trained under).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def parse_model_spec(spec: str) -> tuple[str | None, Path]:
    """``NAME=DIR`` -> (NAME, DIR); ``DIR`` -> (None, DIR). A path that exists as typed is never split."""
    from pcids.errors import PcidsError

    text = spec.strip()
    if not text:
        raise PcidsError("--model needs NAME=DIR (a directory saved by `pcids train forward --data`)")
    name, sep, rest = text.partition("=")
    if not sep or Path(text).exists():
        return None, Path(text)
    if not rest:
        raise PcidsError(f"--model {spec!r}: no directory after {name}=")
    return name.strip(), Path(rest)


def load_user_models(specs: Sequence[str] | None) -> list[Any]:
    """The PropertyModels of the ``--model`` options, each under its NAME; a bad name or directory is one clear error."""
    from pcids.errors import PcidsError
    from pcids.models.user import UserPropertyModel, check_property_name

    models: list[Any] = []
    seen: dict[str, str] = {}
    for spec in specs or []:
        name, directory = parse_model_spec(spec)
        model = UserPropertyModel.load(directory)
        if name is not None:
            model.name = check_property_name(name)
        if model.name in seen:
            raise PcidsError(f"--model {spec!r}: the name {model.name!r} is already used by --model {seen[model.name]!r}; rename one (NAME=DIR)")
        seen[model.name] = spec
        models.append(model)
    return models


def with_user_models(predict: Callable[[list[str]], Any], models: Sequence[Any]) -> Callable[[list[str]], Any]:
    """``predict`` with each model's ``<name>``, ``<name>_std`` and ``<name>_in_domain`` columns joined on."""
    if not models:
        return predict

    def joined(formulas: list[str]) -> Any:
        df = predict(formulas)
        for m in models:
            extra = m.predict(formulas)
            df[m.name] = extra[m.name].to_numpy()
            df[f"{m.name}_std"] = extra[f"{m.name}_std"].to_numpy()
            df[f"{m.name}_in_domain"] = extra["in_domain"].to_numpy()
        return df

    return joined


def format_value(mean: float, std: float) -> str:
    """``mean ± std`` with the decimals the mean's size calls for (both to the same place)."""
    size = abs(mean)
    places = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{mean:.{places}f} ± {std:.{places}f}"


def column_label(model: Any) -> str:
    """The table header of a model's column: ``hardness (HV)``."""
    return f"{model.name} ({model.unit})" if model.unit else model.name
