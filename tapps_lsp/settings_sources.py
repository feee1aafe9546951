"""Settings found in a workspace folder: `[tool.tapps-lsp]` and `.tapps-agents/config.yaml`.

A cloned repository writes these files, so they are untrusted input:

- they are read through `safe_io.read_inside` (inside the folder, a regular
  file, opened with O_NOFOLLOW | O_NONBLOCK, at most CONFIG_CAP bytes): a
  symlink to /dev/zero, a FIFO or a 50 MB file gets one message and the
  other settings apply;
- reading and parsing (a 1 MiB YAML file takes seconds) run in a worker
  thread, never on the event loop;
- YAML anchors and aliases are refused: nine nested `&a`/`*a` in 535 bytes
  expand to gigabytes;
- what they may set is limited by `settings_merge.merge` (machine limits lower-only,
  USER_ONLY keys refused, lists and strings capped).
"""

from __future__ import annotations

import asyncio
import errno
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from tapps_lsp.config import Settings
from tapps_lsp.review.target import python_settings
from tapps_lsp.safe_io import CONFIG_CAP, UnsafeRead, read_text_inside
from tapps_lsp.settings_merge import Source, cap_problems, env_source, merge

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI
    import tomli as tomllib

# A settings file bigger than this is not a settings file.
MAX_SETTINGS_BYTES = CONFIG_CAP

PYPROJECT = "pyproject.toml"
TAPPS_AGENTS = ".tapps-agents/config.yaml"

# Problems with the text of a message (a parser's error) are cut to this length.
_MESSAGE = 300


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE else text[: _MESSAGE - 3] + "..."


def _read(root: Path, relative: str) -> tuple[str | None, str | None]:
    """(text of root/relative, problem): the text is None when the file is absent or refused."""
    path = root / relative
    try:
        return read_text_inside(root, path, MAX_SETTINGS_BYTES), None
    except FileNotFoundError:
        return None, None
    except UnsafeRead as exc:
        return None, f"{_short(str(exc))} (its settings are ignored)"
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return None, None
        return None, f"{path}: cannot be read ({exc.strerror}); its settings are ignored"


@cache
def _yaml_loader() -> type:
    """PyYAML's SafeLoader that refuses anchors and aliases (built on first use: 0.1 s import)."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """A SafeLoader that stops at the first `&anchor` or `*alias`."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
            if getattr(event, "anchor", None) is not None:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise AliasRefused(line)
            return super().compose_node(parent, index)

    return NoAliasLoader


class AliasRefused(Exception):
    """A YAML file uses an anchor or an alias."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def load_yaml(text: str) -> Any:
    """A YAML document with anchors and aliases refused (AliasRefused).

    Other errors are `yaml.YAMLError`, or ValueError / RecursionError for numbers
    too long and nesting too deep.
    """
    import yaml

    return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass


def from_tapps_agents(data: Any) -> dict[str, Any]:
    """Map `.tapps-agents/config.yaml` onto our keys (scoring weights and thresholds)."""
    if not isinstance(data, Mapping):
        return {}
    scoring = data.get("scoring")
    if not isinstance(scoring, Mapping):
        return {}
    out: dict[str, Any] = {}
    if "weights" in scoring:
        out["weights"] = scoring["weights"]
    thresholds = scoring.get("thresholds")
    if isinstance(thresholds, Mapping):
        for theirs, ours in (
            ("overall", "qualityThreshold"),
            ("overall_min", "qualityThreshold"),
            ("security", "minSecurity"),
            ("security_min", "minSecurity"),
            ("complexity", "complexityThreshold"),
        ):
            if theirs in thresholds:
                out[ours] = thresholds[theirs]
    for theirs, ours in (
        ("quality_threshold", "qualityThreshold"),
        ("min_security", "minSecurity"),
    ):
        if theirs in scoring:
            out[ours] = scoring[theirs]
    return out


def _tapps_agents(root: Path, text: str) -> tuple[Source | None, str | None]:
    import yaml

    where = root / TAPPS_AGENTS
    try:
        data = load_yaml(text)
    except AliasRefused as exc:
        return None, (
            f"{where}: uses a YAML anchor or alias (&name / *name, line {exc.line}), "
            "which tapps-lsp does not accept; its settings are ignored"
        )
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        return None, _short(f"{where}: not valid YAML ({exc})") + "; ignored"
    return Source(from_tapps_agents(data), str(where), workspace=True), None


def _pyproject(root: Path, text: str) -> tuple[Source | None, str | None]:
    where = root / PYPROJECT
    try:
        tool = tomllib.loads(text).get("tool")
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError is a ValueError
        return None, _short(f"{where}: not valid TOML ({exc})") + "; ignored"
    section = tool.get("tapps-lsp") if isinstance(tool, Mapping) else None
    if isinstance(section, Mapping):
        return Source(section, f"{where} [tool.tapps-lsp]", workspace=True), None
    if section is not None:
        return None, f"{where}: [tool.tapps-lsp] is not a table; ignored"
    return None, None


_PARSERS: tuple[tuple[str, Callable[[Path, str], tuple[Source | None, str | None]]], ...] = (
    (TAPPS_AGENTS, _tapps_agents),
    (PYPROJECT, _pyproject),
)


def folder_sources(root: Path) -> tuple[list[Source], list[str]]:
    """Settings sources of a folder, lowest precedence first, and the problems met.

    `.tapps-agents/config.yaml` (weights and thresholds of the TappsCodingAgents
    reviewer) comes before `[tool.tapps-lsp]`, which is specific to us and wins.
    Blocks on the disk and the parsers: call it in a thread.
    """
    sources: list[Source] = []
    problems: list[str] = []
    for relative, parse in _PARSERS:
        text, problem = _read(root, relative)
        if text is not None:
            source, problem = parse(root, text)
            if source is not None:
                sources.append(source)
        if problem:
            problems.append(problem)
    python = python_settings(root)  # lowest precedence: a setting names another Python
    if python is not None:
        sources.insert(0, Source(python[0], f"{root}: {python[1]}", True))
    return sources, problems


async def read_folder_sources(root: Path) -> tuple[list[Source], list[str]]:
    """`folder_sources`, in a worker thread."""
    return await asyncio.to_thread(folder_sources, root)


def settings_of_folder(
    root: Path | None, user: Sequence[Source | Mapping[str, Any] | None] = ()
) -> tuple[Settings, list[str]]:
    """A folder's settings from every source, and the problems to show (at most a few).

    Lowest first: the folder's files (none for loose files, `root` None), the
    environment (ENV_LIMITS), then the user's own `user` sources (editor
    settings, command-line values). Blocks: call it in a thread.
    """
    sources, problems = folder_sources(root) if root is not None else ([], [])
    environment, env_problems = env_source()
    settings, more = merge(*sources, environment, *user, origin=str(root or "settings"))
    return settings, cap_problems(problems + env_problems + more)


async def load_folder_settings(
    root: Path | None, user: Sequence[Source | Mapping[str, Any] | None] = ()
) -> tuple[Settings, list[str]]:
    """`settings_of_folder`, in a worker thread: reading and parsing never block the loop."""
    return await asyncio.to_thread(settings_of_folder, root, user)
