"""The figure embedded in docs/performance.md, drawn from one run's results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: a file is the only output

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

from benchmarks.run import _get, _ok_runs, fmt, median, percentile  # noqa: E402

OURS = "#2a7ab9"
PEER = "#9a9a9a"
LIMIT = "#c0392b"


def _bars(
    axis: Any,
    labels: list[str],
    p50: list[float],
    p95: list[float],
    colours: list[str],
    *,
    unit: str,
    limit: float | None,
    title: str,
) -> None:
    positions = range(len(labels))
    errors = [[0] * len(p50), [max(0.0, high - low) for low, high in zip(p50, p95, strict=True)]]
    axis.barh(list(positions), p50, xerr=errors, color=colours, capsize=3)
    axis.set_yticks(list(positions), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel(f"{unit} (bar p50, whisker p95; log scale)", fontsize=8)
    axis.set_title(title, fontsize=10)
    if limit is not None:
        axis.axvline(
            limit, color=LIMIT, linestyle="--", linewidth=1, label=f"target {limit:g} {unit}"
        )
        axis.legend(fontsize=7, loc="lower right")
    for y, value, high in zip(positions, p50, p95, strict=True):
        axis.text(max(value, high) * 1.1, y, fmt(value), va="center", fontsize=7)


def _save_panel(
    axis: Any, result: dict[str, Any], key: str, peer_key: str, limit: float, title: str
) -> None:
    labels, p50, p95, colours = [], [], [], []
    series = [("tapps-lsp didSave", _get(result, "tapps", "saves", key))]
    if key == "cached_save_ms":
        pulled = _get(result, "tapps", "saves", "cached_save_pull_ms")
        series.append(("tapps-lsp didSave, refresh, pull", pulled))
    for label, ours in series:
        if ours:
            labels.append(label)
            p50.append(percentile(ours, 50))
            p95.append(percentile(ours, 95))
            colours.append(OURS)
    for name, data in (_get(result, "peers", "servers") or {}).items():
        series = [(f"{name} {data.get('trigger', '')}", data.get(peer_key))]
        if peer_key == "same_content_ms":
            series.append((f"{name} didOpen", data.get("didOpen_ms")))
        for label, samples in series:
            if samples:
                labels.append(label)
                p50.append(percentile(samples, 50))
                p95.append(percentile(samples, 95))
                colours.append(PEER)
    if key == "uncached_save_ms":
        chain = _get(result, "peers", "single_file_chain")
        if chain:
            total = chain["total_seconds"] * 1000
            labels.append("ruff+radon cc+mi+bandit CLIs")
            p50.append(total)
            p95.append(total)
            colours.append(PEER)
    if labels:
        _bars(axis, labels, p50, p95, colours, unit="ms", limit=limit, title=title)
    else:
        axis.set_title(title + " (not measured)", fontsize=10)


def _review_all_panel(axis: Any, result: dict[str, Any]) -> None:
    tapps = result.get("tapps") or {}
    cold_runs = _ok_runs(tapps.get("cold"))
    # As in the table: the scan time of runs without saves meanwhile.
    cold = [run["seconds"] for run in cold_runs if not run.get("saves_during_scan_ms")]
    restart = [run["seconds"] for run in _ok_runs(_get(tapps, "warm", "after_restart"))]
    memory = [run["seconds"] for run in _ok_runs(_get(tapps, "warm", "warm_memory"))]
    labels, values, colours = [], [], []
    for label, samples in (
        ("tapps-lsp cold", cold),
        ("tapps-lsp warm (restart)", restart),
        ("tapps-lsp warm (memory)", memory),
    ):
        if samples:
            labels.append(label)
            values.append(median(samples))
            colours.append(OURS)
    chain = _get(result, "peers", "chain")
    if chain:
        for tool in ("ruff", "radon cc", "radon mi", "bandit"):
            data = chain["tools"][tool]
            labels.append(tool + (" (stopped at cap)" if data["capped"] else ""))
            values.append(data["seconds"])
            colours.append(PEER)
        labels.append("CLI chain, total >= " if chain["at_least"] else "CLI chain, total")
        values.append(chain["total_seconds"])
        colours.append("#555555")
    axis.barh(range(len(values)), values, color=colours)
    for y, value in enumerate(values):
        axis.text(value * 1.1, y, fmt(value, "s"), va="center", fontsize=7)
    axis.set_yticks(range(len(labels)), labels, fontsize=8)
    axis.invert_yaxis()
    if labels:
        axis.set_xscale("log")
    axis.set_xlabel("seconds (median; log scale)", fontsize=8)
    files = _get(result, "corpus", "files")
    axis.set_title(f'"Review all": standard library, {files} files', fontsize=10)


def _memory_panel(axis: Any, result: dict[str, Any]) -> None:
    for run in _ok_runs(_get(result, "tapps", "cold")):
        timeline = run.get("rss_timeline") or []
        if timeline:
            start = timeline[0][0]
            label = "with saves meanwhile" if run.get("saves_during_scan_ms") else "cold scan"
            axis.plot([t - start for t, _ in timeline], [mb for _, mb in timeline], label=label)
    axis.axhline(150, color=LIMIT, linestyle="--", linewidth=1, label="target 150 MB")
    axis.set_xlabel("seconds into the scan", fontsize=8)
    axis.set_ylabel("RSS, server + workers (MB)", fontsize=8)
    axis.set_title("Memory during a cold scan", fontsize=10)
    axis.legend(fontsize=7)


def _distribution_panel(axis: Any, result: dict[str, Any]) -> None:
    runs = _ok_runs(_get(result, "tapps", "cold"))
    gaps = [gap for run in runs for gap in run.get("progress_gaps_ms", [])]
    during = [value for run in runs for value in run.get("saves_during_scan_ms", [])]
    data, labels = [], []
    if gaps:
        data.append(gaps)
        labels.append("progress report gaps\n(target 50-150 ms)")
    if during:
        data.append(during)
        labels.append("cached save during scan\n(target p95 <= 50 ms)")
    if data:
        axis.boxplot(data, whis=(5, 95), showfliers=True)
        axis.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
        axis.set_yscale("log")
    axis.axhspan(50, 150, color="#2ecc71", alpha=0.15)
    axis.set_ylabel("ms (box 25-75 %, whiskers 5-95 %)", fontsize=8)
    axis.set_title("Responsiveness during a scan", fontsize=10)


def draw(result: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    _save_panel(
        axes[0][0],
        result,
        "cached_save_ms",
        "same_content_ms",
        2,
        "Save -> diagnostics, content seen before",
    )
    _save_panel(
        axes[0][1],
        result,
        "uncached_save_ms",
        "new_content_ms",
        120,
        "Save -> diagnostics, new content (~700 lines)",
    )
    _review_all_panel(axes[0][2], result)
    _memory_panel(axes[1][0], result)
    _distribution_panel(axes[1][1], result)
    _hit_panel(axes[1][2], result)
    machine = result.get("machine") or {}
    figure.suptitle(
        f"tapps-lsp vs peers, {result.get('started', '')} on {machine.get('nproc')} x "
        f"{machine.get('cpu', '')}, Python {machine.get('python', '')}"
        + (" (quick run)" if result.get("quick") else ""),
        fontsize=11,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _hit_panel(axis: Any, result: dict[str, Any]) -> None:
    loop = _get(result, "tapps", "edit_loop") or {}
    hits, misses = loop.get("hits"), loop.get("misses")
    if hits is None or misses is None:
        axis.set_title("Cache hit rate, edit loop (not measured)", fontsize=10)
        axis.axis("off")
        return
    axis.bar(["hits", "misses"], [hits, misses], color=[OURS, PEER])
    rate = hits / (hits + misses) * 100 if hits + misses else 0
    axis.set_title(f"Edit loop: hit rate {rate:.0f} % (target >= 80 %)", fontsize=10)
    axis.set_ylabel("cache lookups", fontsize=8)
