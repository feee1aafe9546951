"""Where a cold review's in-process CPU goes, per analyzer, on the standard library.

Runs the engine's stages in this process, one file after another, on the
standard library without its tests (`benchmarks.corpus.stdlib_files`) or on
the `.py` files under `--root`: ruff once over every file (its CPU is the
child's), then per file the parse, each TREE-stage analyzer, the AFTER stage
and the scoring, each timed with `time.process_time`. Then, as a check on the
sum of the parts, the engine's own per-file path (`engine._analyze`, given
ruff's outcome as a scan's chunk gives it) over the same files.

    nice -n 5 .venv/bin/python -m benchmarks.engine_profile              # table
    nice -n 5 .venv/bin/python -m benchmarks.engine_profile --repeat 3   # best of 3
    nice -n 5 .venv/bin/python -m benchmarks.engine_profile --profile 30 # cProfile, top 30

For an A/B comparison run it from outside the work tree with `PYTHONPATH` set
to each tree in turn (alternating, since the machine is shared).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path

from benchmarks.corpus import STDLIB, stdlib_files
from tapps_lsp.config import Settings
from tapps_lsp.review import engine, scoring
from tapps_lsp.review.analyzers import ruff, syntax
from tapps_lsp.review.analyzers.base import Outcome, Source, Stage
from tapps_lsp.review.analyzers.registry import REGISTRY
from tapps_lsp.review.model import Finding, ProjectInfo
from tapps_lsp.review.skips import skip_reason


def load(root: Path) -> list[tuple[str, str]]:
    """(filename, text) of every file of the corpus, decoded as the scan decodes them."""
    names = stdlib_files(root) if root == STDLIB else sorted(root.rglob("*.py"))
    out = []
    for name in names:
        path = root / name
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        if skip_reason(text, Settings()) is None:
            out.append((str(path), text))
    return out


def _sources(items: list[tuple[str, str]], settings: Settings) -> list[Source]:
    return [engine._source(text, settings, name) for name, text in items]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


Lint = list[tuple[Outcome, list[Finding]]]


def lint_all(items: list[tuple[str, str]], settings: Settings) -> tuple[Lint, float]:
    """ruff's outcome and all its findings (`Source.lint`) for every file, from one
    process, and that process's CPU seconds."""
    sources = _sources(items, settings)
    before = _children_cpu()
    outcomes = ruff.ANALYZER.analyze_batch(sources)
    spent = _children_cpu() - before
    lint = [(o, s.lint) for o, s in zip(outcomes, sources, strict=True)]
    checked = [(o, found) for o, found in lint if o is not None and found is not None]
    if len(checked) != len(items):
        raise SystemExit("ruff failed on the corpus")
    return checked, spent


def by_stage(items: list[tuple[str, str]], lint: Lint, settings: Settings) -> dict[str, float]:
    """CPU seconds of each step over the corpus: the parse, then every TREE and AFTER
    analyzer (the AFTER ones only for files that do not parse), then freeing the tree."""
    spent: dict[str, float] = {}
    analyzers = [a for a in REGISTRY if a.stage is not Stage.TOOL]
    for source, (_, found) in zip(_sources(items, settings), lint, strict=True):
        source.lint = found
        gc.disable()
        try:
            started = time.process_time()
            source.tree = syntax.parse(source.text, source.settings.pythonVersion)
            spent["parse"] = spent.get("parse", 0.0) + time.process_time() - started
            for analyzer in analyzers:
                if analyzer.wanted(source):
                    started = time.process_time()
                    analyzer.analyze(source)
                    took = time.process_time() - started
                    spent[analyzer.name] = spent.get(analyzer.name, 0.0) + took
            started = time.process_time()
            source.tree = None
            vars(source).get("shared", {}).clear()  # older trees have no `shared`
            spent["free the tree"] = spent.get("free the tree", 0.0) + time.process_time() - started
        finally:
            gc.enable()
    return spent


def whole(items: list[tuple[str, str]], lint: Lint, settings: Settings) -> dict[str, float]:
    """CPU seconds of the engine's own per-file path (ruff's outcome given, as a scan's
    chunk gives it), and of scoring its results."""
    sources = _sources(items, settings)
    results = []
    started = time.process_time()
    for source, (outcome, found) in zip(sources, lint, strict=True):
        source.lint = found
        gc.disable()
        try:
            results.append(engine._analyze(source, {"ruff": outcome}))
        finally:
            gc.enable()
    analysed = time.process_time() - started
    project = ProjectInfo()
    started = time.process_time()
    for result in results:
        scoring.score(result, project, settings, "x.py")
    return {"engine._analyze": analysed, "score": time.process_time() - started}


def profile(items: list[tuple[str, str]], lint: Lint, top: int) -> str:
    """cProfile's top functions (by own time, then cumulative) over the per-file path."""
    profiler = cProfile.Profile()
    profiler.enable()
    whole(items, lint, Settings())
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Print (or write as JSON) the CPU seconds per step, the best of `--repeat` runs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=STDLIB, help="a folder of .py files")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best is kept")
    parser.add_argument("--profile", type=int, metavar="TOP", help="cProfile, top functions")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    settings = Settings()
    items = load(args.root)
    engine.warm_up()
    lint, ruff_cpu = lint_all(items, settings)
    if args.profile:
        print(profile(items, lint, args.profile))
        return 0
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        run = by_stage(items, lint, settings)
        run["sum of steps"] = sum(run.values())
        run |= whole(items, lint, settings)
        best = {k: min(v, best.get(k, v)) for k, v in run.items()}
    figures = {"files": len(items), "ruff (one process, child CPU)": ruff_cpu, **best}
    load_average = os.getloadavg()[0]
    for name, value in figures.items():
        print(f"{name:32} {value:8.3f}" if isinstance(value, float) else f"{name:32} {value:8}")
    print(f"{'load average (1 min)':32} {load_average:8.2f}")
    if args.json:
        args.json.write_text(json.dumps({**figures, "load": load_average}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
