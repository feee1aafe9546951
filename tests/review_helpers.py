"""What tests ask of a Reviewer that its callers never do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from tapps_lsp.config import Settings
from tapps_lsp.review.model import Review
from tapps_lsp.reviewer import Reviewer


def review_files_sync(
    reviewer: Reviewer,
    paths: Sequence[Path | str],
    settings: Settings,
    root: Path | None,
    *,
    on_result: Callable[[Review], None] | None = None,
    on_deleted: Callable[[str], None] | None = None,
) -> list[Review]:
    """`Reviewer.review_files` for a test without an event loop."""
    return asyncio.run(
        reviewer.review_files(paths, settings, root, on_result=on_result, on_deleted=on_deleted)
    )


def worker_pids(reviewer: Reviewer) -> list[int]:
    """Process ids of the reviewer's live worker processes (interactive and scans)."""
    return sorted(pid for pool in reviewer.pools() for pid in pool.pids())


def small_modules(root: Path, count: int) -> list[Path]:
    """`count` distinct three-line modules in a new folder `root`, each with an unused
    import (one F401)."""
    root.mkdir(parents=True)
    paths = []
    for i in range(count):
        path = root / f"m{i:02}.py"
        path.write_text(f"import os\n\nVALUE_{i} = {i}\n", encoding="utf-8")
        paths.append(path)
    return paths
