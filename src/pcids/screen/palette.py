"""Which systems a screen covers: palettes (given or named), sizes, and the systems in a fixed order."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import combinations

from pcids.errors import ScreenError

#: Sizes a screen accepts (elements per system).
MIN_SIZE, MAX_SIZE = 2, 12
#: Batches per size at least (when there are as many systems), whatever ``batch_points`` says.
MIN_BATCHES = 16
#: A named palette's elements appear in at least this many alloys of the elastic data and of the GFA data:
#: ``glass-formers`` the well-studied ones, ``all`` every element a screen accepts (``all:40`` for the
#: 40 most studied: the 759,278-system screen of 3-5 elements).
NAMED = {"glass-formers": (10, 100), "all": (1, 1)}


@lru_cache(maxsize=None)
def _element_counts() -> tuple[dict[str, int], dict[str, int]]:
    """Alloys containing each element in the bundled elastic and GFA data."""
    from pcids.datasets import load_elastic, load_gfa

    out = []
    for df in (load_elastic(), load_gfa()):
        out.append({e: int((df[e] > 0).sum()) for e in df.attrs["elements"]})
    return out[0], out[1]


def named_palette(name: str) -> list[str]:
    """``glass-formers``: elements with enough data in both bundled sets, most elastic alloys first;
    ``all``: every element a screen accepts, in the same order; ``NAME:N`` keeps the first N."""
    base, _, n = name.partition(":")
    if base not in NAMED:
        raise ScreenError(f"unknown palette {name!r}; named palettes: {', '.join(NAMED)} (optionally NAME:N), or a list such as Zr,Cu,Ni,Al")
    min_el, min_gfa = NAMED[base]
    el, gfa = _element_counts()
    from pcids.elements import supported_elements

    members = sorted((e for e in el if el[e] >= min_el and gfa.get(e, 0) >= min_gfa and e in supported_elements()), key=lambda e: (-el[e], e))
    if n:
        if not n.isdigit() or not 2 <= int(n) <= len(members):
            raise ScreenError(f"palette {name!r}: N must be an integer from 2 to {len(members)}")
        members = members[: int(n)]
    return members


def check_palette(palette: str | Sequence[str]) -> list[str]:
    """Element symbols (a list, 'Zr,Cu,Ni' or a named palette) -> list; each must be a real element
    that pcids has property data for and that appears in the alloys both models were trained on."""
    from pcids.composition import PERIODIC_TABLE
    from pcids.elements import supported_elements

    if isinstance(palette, str):
        items = [s.strip() for s in palette.split(",") if s.strip()]
        if len(items) == 1 and items[0] not in PERIODIC_TABLE:
            return named_palette(items[0])
    else:
        items = [str(s).strip() for s in palette]
    if len(items) < MIN_SIZE:
        raise ScreenError(f"a palette needs at least {MIN_SIZE} elements, got {len(items)}")
    unknown = [e for e in items if e not in PERIODIC_TABLE]
    if unknown:
        raise ScreenError(f"palette: {', '.join(map(repr, unknown))} is not a chemical element")
    dup = sorted({e for e in items if items.count(e) > 1})
    if dup:
        raise ScreenError(f"palette: {', '.join(dup)} named more than once")
    no_props = [e for e in items if e not in supported_elements()]
    el, gfa = _element_counts()
    no_data = [e for e in items if e not in no_props and (el.get(e, 0) == 0 or gfa.get(e, 0) == 0)]
    if no_props or no_data:
        parts = [f"{e} (no element property data)" for e in no_props]
        parts += [f"{e} (in {el.get(e, 0)} elastic and {gfa.get(e, 0)} glass-forming-ability alloys)" for e in no_data]
        raise ScreenError(
            "pcids has no data to screen " + ", ".join(parts) + "; every palette element must appear in the bundled "
            "elastic and GFA data (try --palette glass-formers)"
        )
    return items


def check_sizes(sizes: str | int | Sequence[int], n_palette: int) -> list[int]:
    """'3-5', '3,5', 4 or (3, 4, 5) -> sorted sizes, each from 2 to 12 and at most the palette's size."""
    try:
        if isinstance(sizes, str):
            out: set[int] = set()
            for part in sizes.split(","):
                lo, dash, hi = part.strip().partition("-")
                out.update(range(int(lo), int(hi) + 1) if dash else [int(lo)])
        elif isinstance(sizes, int):
            out = {sizes}
        else:
            out = {int(s) for s in sizes}
    except (TypeError, ValueError):
        raise ScreenError(f"sizes must look like 3-5, 3,4 or 4 (elements per system), got {sizes!r}") from None
    if not out:
        raise ScreenError("no system size given (e.g. --sizes 3-5)")
    bad = sorted(s for s in out if not MIN_SIZE <= s <= MAX_SIZE)
    if bad:
        raise ScreenError(f"system sizes must lie between {MIN_SIZE} and {MAX_SIZE} elements, got {', '.join(map(str, bad))}")
    big = sorted(s for s in out if s > n_palette)
    if big:
        raise ScreenError(f"systems of {', '.join(map(str, big))} elements need a palette of at least {big[-1]}, got {n_palette}")
    return sorted(out)


def count_systems(n_palette: int, sizes: Sequence[int]) -> int:
    return sum(math.comb(n_palette, s) for s in sizes)


def systems(palette: Sequence[str], sizes: Sequence[int]) -> Iterator[tuple[str, ...]]:
    """Every system, smallest first, elements in palette order: the order batch ids are based on."""
    for s in sizes:
        yield from combinations(palette, s)


def check_systems(chosen: Sequence[Sequence[str]], palette: Sequence[str]) -> list[tuple[str, ...]]:
    """An explicit list of systems (element lists or 'Zr-Cu-Al'): each drawn from the palette, none repeated."""
    out, seen = [], set()
    for s in chosen:
        t = tuple(s.split("-")) if isinstance(s, str) else tuple(s)
        bad = [e for e in t if e not in palette]
        if bad or len(set(t)) != len(t) or not MIN_SIZE <= len(t) <= MAX_SIZE:
            raise ScreenError(f"system {'-'.join(t)}: needs {MIN_SIZE} to {MAX_SIZE} distinct elements of the palette {', '.join(palette)}")
        key = frozenset(t)
        if key in seen:
            raise ScreenError(f"system {'-'.join(t)} given more than once")
        seen.add(key)
        out.append(t)
    if not out:
        raise ScreenError("no system given")
    return sorted(out, key=len)


def batches(
    palette: Sequence[str], sizes: Sequence[int], step: float, batch_points: int, chosen: Sequence[tuple[str, ...]] | None = None
) -> Iterator[tuple[int, int, list[tuple[str, ...]]]]:
    """(batch id, size, systems): consecutive systems of one size (every combination, or ``chosen``,
    smallest first), about ``batch_points`` coarse compositions each (at least one system), so a task
    takes seconds, and at least :data:`MIN_BATCHES` per size where there are that many systems, so
    small screens still spread over the workers. The ids depend only on the arguments (not on the
    cluster), which is what lets --resume match parts to batches."""
    from itertools import islice

    units = int(round(100.0 / step))
    bid = 0
    for s in sizes:
        n = math.comb(len(palette), s) if chosen is None else sum(len(c) == s for c in chosen)
        per = max(1, min(batch_points // math.comb(units - 1, s - 1), math.ceil(n / MIN_BATCHES)))
        it = combinations(palette, s) if chosen is None else iter([c for c in chosen if len(c) == s])
        while chunk := list(islice(it, per)):
            yield bid, s, chunk
            bid += 1
