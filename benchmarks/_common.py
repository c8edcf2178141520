"""Where benchmark results go, and how they are written (JSON + Markdown)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1_5_15": [round(x, 2) for x in load],
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def write(name: str, payload: dict[str, Any], markdown: str, results: Path = RESULTS) -> None:
    """``<results>/<name>.json`` and ``.md``; ``name`` may hold a subfolder (``screens/...``)."""
    (results / name).parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **payload}
    (results / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (results / f"{name}.md").write_text(markdown.rstrip() + f"\n\n_Machine: {payload['machine']}_\n")
    print(markdown)


def choices(parser: Any, text: str, allowed: Any, what: str) -> list[str]:
    """A comma-separated option as a list, every item one of ``allowed`` (else the parser's error)."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    for x in items:
        if x not in allowed:
            parser.error(f"unknown {what} {x!r}; choose from {sorted(allowed)}")
    return items


def command_line(script: str, argv: list[str] | None) -> str:
    """The command a result file records (run under nice 10, as HELPERS asks)."""
    return f"nice -n 10 python benchmarks/{Path(script).name} " + " ".join(argv if argv is not None else sys.argv[1:])
