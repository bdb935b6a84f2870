"""Cooking every built-in formula: the figure of issue 12 (target: < 1 s in total).

    python benchmarks/cook_builtins.py [--repeat 5] [--cli]

For each built-in formula (``gastown_server/formulas/builtin/``), from the
file each time (no cache): load (TOML, validation, ``extends``), cook in
compile mode and in runtime mode (required variables given sample values,
defaults otherwise: towers-of-hanoi cooks its default 10 disks, 1,023
steps), and walk every step of the runtime protomolecule (the lazy loop
rendering a pour does).  Prints per-formula milliseconds of the best run
and the total (best and median of ``--repeat`` runs).  ``--cli`` also times
one ``bd cook <name> --mode=runtime`` process per formula (start-up
included), which is what an agent sees.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gastown_server.formulas import search
from gastown_server.formulas.cook import cook, loader_for


def sample_vars(formula) -> dict:
    return {n: ("1.2.3" if v.pattern else "x-1") for n, v in formula.vars.items() if v.required and v.default is None}


def cook_all(names: list[str]) -> dict[str, float]:
    times: dict[str, float] = {}
    load = loader_for(town=None)
    for name in names:
        t0 = time.perf_counter()
        formula = search.load(name, None)
        cook(formula, {}, load=load, mode="compile")
        proto = cook(formula, sample_vars(formula), load=load)
        steps = sum(1 for _ in proto.steps())
        assert steps == proto.count
        times[name] = time.perf_counter() - t0
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cli", action="store_true", help="also time one bd cook process per formula")
    args = ap.parse_args()
    os.environ.pop("GT_FORMULA_PATH", None)
    os.environ.pop("GT_TOWN", None)
    names = sorted(p.name[: -len(".formula.toml")] for p in search.builtin_dir().glob("*.formula.toml"))
    runs = [cook_all(names) for _ in range(args.repeat)]
    totals = [sum(r.values()) for r in runs]
    best = runs[totals.index(min(totals))]
    for name in names:
        print(f"  {name:<22} {best[name] * 1000:8.1f} ms")
    print(f"cook every built-in ({len(names)} formulas, both modes): best {min(totals):.3f} s, "
          f"median {statistics.median(totals):.3f} s over {args.repeat} runs")
    if args.cli:
        bd = Path(sys.executable).parent / "bd"
        t0 = time.perf_counter()
        for name in names:
            formula = search.load(name, None)
            argv = [str(bd), "cook", name, "--mode=runtime"]
            for k, v in sample_vars(formula).items():
                argv += ["--var", f"{k}={v}"]
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd="/")
        print(f"bd cook --mode=runtime, one process per built-in: {time.perf_counter() - t0:.3f} s in total")


if __name__ == "__main__":
    main()
