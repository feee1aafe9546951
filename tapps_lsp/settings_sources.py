"""Settings found in a workspace folder: `[tool.tapps-lsp]` and `.tapps-agents/config.yaml`.

Read with aiofiles so a slow disk never stalls the event loop, and only
when the file really lies inside the folder (a symlink out of it is
ignored): opening a repository must not make us read elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiofiles

from tapps_lsp.config import from_tapps_agents
from tapps_lsp.review.target import project_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI
    import tomli as tomllib

# A settings file bigger than this is not a settings file.
MAX_SETTINGS_BYTES = 1 << 20

PYPROJECT = "pyproject.toml"
TAPPS_AGENTS = ".tapps-agents/config.yaml"


async def _read_inside(root: Path, relative: str) -> str | None:
    """The text of root/relative when it is a regular file inside root, else None."""
    path = root / relative
    real = Path(os.path.realpath(path))
    if root != real and root not in real.parents:
        return None
    try:
        if not real.is_file() or real.stat().st_size > MAX_SETTINGS_BYTES:
            return None
        async with aiofiles.open(real, encoding="utf-8", errors="replace") as f:
            return str(await f.read())
    except OSError:
        return None


async def read_folder_sources(root: Path) -> tuple[list[Mapping[str, Any]], list[str]]:
    """Settings sources of a folder, lowest precedence first, and the problems met.

    `.tapps-agents/config.yaml` (weights and thresholds of the TappsCodingAgents
    reviewer) comes before `[tool.tapps-lsp]`, which is specific to us and wins.
    """
    sources: list[Mapping[str, Any]] = []
    problems: list[str] = []
    text = await _read_inside(root, TAPPS_AGENTS)
    if text is not None:
        import yaml  # 0.1 s to import: only when a project has the file

        try:
            sources.append(from_tapps_agents(yaml.safe_load(text)))
        except yaml.YAMLError as exc:
            problems.append(f"{root / TAPPS_AGENTS}: not valid YAML ({exc}); ignored")
    text = await _read_inside(root, PYPROJECT)
    if text is not None:
        try:
            tool = tomllib.loads(text).get("tool")
            section = tool.get("tapps-lsp") if isinstance(tool, Mapping) else None
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{root / PYPROJECT}: not valid TOML ({exc}); ignored")
        else:
            if isinstance(section, Mapping):
                sources.append(section)
            elif section is not None:
                problems.append(f"{root / PYPROJECT}: [tool.tapps-lsp] is not a table; ignored")
    python = await asyncio.to_thread(project_python, root)
    if python is not None:  # lowest precedence: a setting names another Python
        sources.insert(0, {"pythonVersion": python[0]})
    return sources, problems
