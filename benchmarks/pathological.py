"""Generated files that are hard on a reviewer, and what the engine does with each.

`python -m benchmarks.pathological`: per file, the wall and CPU time of one
`engine.analyze` in this process (ruff's own time is wall only: it runs as a
subprocess), the step that took longest, and whether the file was scored or
went over `fileBudget`. Figures in docs/performance.md come from this.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from tapps_lsp.review import engine
from tapps_lsp.settings_merge import merge


def _functions(count: int) -> str:
    return "".join(f"def f{i}(x):\n    return x+{i}\n" for i in range(count))


def _long_function(lines: int) -> str:
    body = "".join(
        f"    value = value * 3 + {i} if value < {i} else value - {i}\n" for i in range(lines)
    )
    return f"def enormous(value):\n{body}    return value\n"


CASES: dict[str, Callable[[], str]] = {
    "30,000 two-line functions": lambda: _functions(30_000),
    "a list literal of 300,000 items": lambda: "x = [" + ",".join(["1"] * 300_000) + "]\n",
    "1,000 lines of 190-deep brackets": lambda: (
        ("x = " + "[" * 190 + "1" + "]" * 190 + "\n") * 1000
    ),
    "a 10,000-line function": lambda: _long_function(10_000),
    "a 100,000-term `and` chain": lambda: "x = " + " and ".join(["a"] * 100_000) + "\n",
    "a 1 MB string literal": lambda: "x = '" + "a" * 1_000_000 + "'\n",
    "a 100,000-term `+` chain": lambda: "x = " + "+".join(["1"] * 100_000) + "\n",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("ruff", "bandit"), default="ruff")
    parser.add_argument("--budget", type=float, default=None, help="fileBudget (default: 1.0)")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {"securityEngine": args.engine}
    if args.budget is not None:
        overrides["fileBudget"] = args.budget
    settings, _ = merge(overrides)
    print(f"security engine {args.engine}, fileBudget {settings.fileBudget:g} s")
    print(f"{'file':34} {'size':>8} {'wall':>7} {'cpu':>7}  {'longest step':18} outcome")
    for name, make in CASES.items():
        text = make()
        cpu, wall = time.process_time(), time.perf_counter()
        result = engine.analyze(text, settings)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        step, seconds = max(result.timings.items(), key=lambda kv: kv[1], default=("-", 0.0))
        codes = {f.code for f in result.findings}
        if "TAPPS-BUDGET" in codes or "TAPPS-SKIP" in codes:
            outcome = "not scored: " + ("TAPPS-BUDGET" if "TAPPS-BUDGET" in codes else "TAPPS-SKIP")
        elif "TAPPS-SYNTAX" in codes:
            outcome = "TAPPS-SYNTAX (too deep for Python's parser)"
        else:
            outcome = "scored"
        if result.analyzer_errors:
            outcome += "; " + "; ".join(f"{k}: {v[:60]}" for k, v in result.analyzer_errors.items())
        size = f"{len(text.encode()) / 1e6:.2f} MB"
        print(
            f"{name:34} {size:>8} {wall:6.2f}s {cpu:6.2f}s  {step} {seconds:.2f} s".ljust(80),
            outcome,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
