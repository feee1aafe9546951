"""A cloned repository's settings files cannot hang us, exhaust memory or raise our limits.

Issue 13, items 5, 6 and 8 and the capped lists: each test builds the
proof-of-concept repository in tmp_path and drives a real server (stdio,
`Raw`) or `tapps-lsp check`, both under the address-space limit. That the
server did not hang is shown by its answering a request afterwards and
shutting down cleanly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from robustness.raw import Raw

from security.conftest import run_check

PUSH = {"textDocument": {"publishDiagnostics": {"versionSupport": True}}}
# A review that finishes within this many seconds did not hang.
DEADLINE = 30.0
# Nine levels of `&a`/`*a`: 9**9 strings once expanded, 2.5 GB before the fix.
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    + "scoring:\n  weights: *i\n"
)
LIMITS = "[tool.tapps-lsp]\njobs = 100\nmaxFileSize = 2147483648\nfileBudget = 600\n"
BIG = "x = 1\n" * 300_000  # 1.8 MB: over the default maxFileSize of 1 MiB


def dev_zero(repo: Path, name: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")


def fifo(repo: Path, name: str) -> None:
    os.mkfifo(repo / name)


def huge(repo: Path, name: str) -> None:
    with open(repo / name, "wb") as f:
        f.truncate(50 << 20)  # 50 MB (sparse: no disk used)


def alias_bomb(repo: Path, name: str) -> None:
    (repo / ".tapps-agents").mkdir()
    (repo / name).write_text(ALIAS_BOMB)


# (what the repository plants, where, the message the user gets; None: no settings file of ours)
HAZARDS: list[tuple[Callable[[Path, str], None], str, str | None]] = [
    (dev_zero, "pyproject.toml", "links outside the workspace folder"),
    (dev_zero, "setup.cfg", None),
    (dev_zero, ".tapps-agents/config.yaml", "links outside the workspace folder"),
    (fifo, "pyproject.toml", "not a regular file"),
    (huge, "pyproject.toml", "52,428,800 bytes, over the limit of 1,048,576"),
    (alias_bomb, ".tapps-agents/config.yaml", "uses a YAML anchor or alias"),
]
HAZARD_IDS = [
    "pyproject-dev-zero",
    "setup-cfg-dev-zero",
    "yaml-dev-zero",
    "fifo",
    "50-mb",
    "alias-bomb",
]


def shown(raw: Raw) -> list[str]:
    return [
        m["params"]["message"] for m in raw.notifications if m["method"] == "window/showMessage"
    ]


def codes(diagnostics: list[dict[str, Any]]) -> set[str]:
    return {str(d.get("code")) for d in diagnostics}


async def open_and_review(raw: Raw, repo: Path, name: str, text: str) -> list[dict[str, Any]]:
    """Open `name` (written to disk too) in a session on `repo`: its first diagnostics."""
    (repo / name).write_text(text)
    uri = (repo / name).as_uri()
    await raw.open(uri, text)
    return await raw.diagnostics_of(uri, timeout=DEADLINE)


async def still_answers(raw: Raw, repo: Path, name: str = "a.py") -> None:
    """A hover is answered and the server shuts down cleanly: nothing hung."""
    at = {"textDocument": {"uri": (repo / name).as_uri()}, "position": {"line": 0, "character": 0}}
    await raw.request("textDocument/hover", at, timeout=DEADLINE)
    assert await raw.stop() == 0


# ---- item 5 and 6: settings files that hang, exhaust memory or expand -----------------------


@pytest.mark.parametrize(("plant", "name", "message"), HAZARDS, ids=HAZARD_IDS)
async def test_server_survives_a_hostile_settings_file(
    hostile_server: Raw,
    repo: Path,
    plant: Callable[[Path, str], None],
    name: str,
    message: str | None,
) -> None:
    plant(repo, name)
    await hostile_server.initialize([repo], PUSH)
    assert "F401" in codes(await open_and_review(hostile_server, repo, "a.py", "import os\n"))
    await still_answers(hostile_server, repo)
    about = [m for m in shown(hostile_server) if name in m]
    if message is None:
        assert about == []
    else:
        assert len(about) == 1 and message in about[0], shown(hostile_server)


@pytest.mark.parametrize(("plant", "name", "message"), HAZARDS, ids=HAZARD_IDS)
def test_check_survives_a_hostile_settings_file(
    tmp_path: Path,
    repo: Path,
    plant: Callable[[Path, str], None],
    name: str,
    message: str | None,
) -> None:
    plant(repo, name)
    (repo / "a.py").write_text("import os\n")
    done = run_check(".", cwd=repo, cache_dir=tmp_path / "cache", timeout=DEADLINE * 2)
    assert done.returncode in (0, 1), done.stderr
    assert "a.py:1:8: F401" in done.stdout
    about = [line for line in done.stderr.splitlines() if name in line]
    if message is None:
        assert about == [], done.stderr
    else:
        assert len(about) == 1 and message in about[0], done.stderr


async def test_the_other_settings_file_still_applies(hostile_server: Raw, repo: Path) -> None:
    fifo(repo, "pyproject.toml")
    (repo / ".tapps-agents").mkdir()
    (repo / ".tapps-agents" / "config.yaml").write_text(
        "scoring:\n  thresholds:\n    overall: 100\n"
    )
    await hostile_server.initialize([repo], PUSH)
    # The gate at 100 comes from .tapps-agents/config.yaml, read past the FIFO.
    assert "TAPPS-GATE" in codes(await open_and_review(hostile_server, repo, "a.py", "x = 1\n"))
    await still_answers(hostile_server, repo)


async def test_parsing_a_1_mib_yaml_does_not_block_the_event_loop(
    hostile_server: Raw, repo: Path
) -> None:
    (repo / ".tapps-agents").mkdir()
    padding = "".join(f"  - item {i}\n" for i in range(70_000))
    text = "scoring:\n  thresholds:\n    overall: 100\npadding:\n" + padding
    assert 900_000 < len(text) < 1 << 20
    (repo / ".tapps-agents" / "config.yaml").write_text(text)
    (repo / "a.py").write_text("x = 1\n")
    raw = hostile_server
    await raw.initialize([repo], PUSH)
    uri = (repo / "a.py").as_uri()
    await raw.open(uri, "x = 1\n")
    # Requests are answered while the settings are parsed (seconds of pure-Python YAML).
    worst, deadline = 0.0, time.monotonic() + DEADLINE
    while not raw.published(uri) and time.monotonic() < deadline:
        sent = time.monotonic()
        await raw.response(raw.send_request("tapps/ping"), timeout=DEADLINE)
        worst = max(worst, time.monotonic() - sent)
    assert "TAPPS-GATE" in codes(await raw.diagnostics_of(uri, timeout=DEADLINE))
    assert worst < 2.0, f"a request waited {worst:.1f} s while the settings were parsed"
    await still_answers(raw, repo)


# ---- item 8: a workspace cannot raise the limits that protect the machine -------------------


async def test_server_refuses_raised_limits(hostile_server: Raw, repo: Path) -> None:
    (repo / "pyproject.toml").write_text(LIMITS)
    await hostile_server.initialize([repo], PUSH)
    diagnostics = await open_and_review(hostile_server, repo, "big.py", BIG)
    # maxFileSize stays at the default 1 MiB: the 1.8 MB file is still skipped.
    (skip,) = [d for d in diagnostics if d.get("code") == "TAPPS-SKIP"]
    assert "size limit of 1,048,576 bytes" in skip["message"]
    await still_answers(hostile_server, repo, "big.py")
    refused = [m for m in shown(hostile_server) if "refused" in m]
    assert len(refused) == 3, shown(hostile_server)
    for key, value, in_force in (
        ("jobs", "100", "0 (one per core)"),
        ("maxFileSize", "2147483648", "1048576"),
        ("fileBudget", "600", "1.0"),
    ):
        (message,) = [m for m in refused if f"tapps.{key} = {value} refused" in m]
        assert f"using {in_force}." in message


async def test_the_user_may_set_what_the_workspace_may_not(hostile_server: Raw, repo: Path) -> None:
    (repo / "pyproject.toml").write_text(LIMITS)
    # The editor's settings are the user's: they raise maxFileSize over the 1.8 MB file.
    await hostile_server.initialize([repo], PUSH, options={"maxFileSize": 4 << 20})
    diagnostics = await open_and_review(hostile_server, repo, "big.py", BIG)
    assert "TAPPS-SKIP" not in codes(diagnostics)
    await still_answers(hostile_server, repo, "big.py")


def test_check_refuses_raised_limits(tmp_path: Path, repo: Path) -> None:
    (repo / "pyproject.toml").write_text(LIMITS)
    (repo / "big.py").write_text(BIG)
    done = run_check(".", cwd=repo, cache_dir=tmp_path / "cache", timeout=DEADLINE * 2)
    assert "big.py: skipped: 1,800,000 bytes is over the size limit of 1,048,576" in done.stdout
    refused = [line for line in done.stderr.splitlines() if "refused" in line]
    assert len(refused) == 3, done.stderr
    assert any("tapps.jobs = 100 refused" in line for line in refused)
    # The environment is the user's: it raises the limit.
    done = run_check(
        ".",
        cwd=repo,
        cache_dir=tmp_path / "cache",
        timeout=DEADLINE * 2,
        TAPPS_LSP_MAX_FILE_SIZE=str(4 << 20),
    )
    assert "big.py" in done.stdout and "over the size limit" not in done.stdout


# ---- lists a workspace can grow are capped --------------------------------------------------


async def test_60000_unknown_keys_send_a_few_messages(hostile_server: Raw, repo: Path) -> None:
    keys = "".join(f"k{i} = 1\n" for i in range(60_000))
    (repo / "pyproject.toml").write_text("[tool.tapps-lsp]\n" + keys)
    await hostile_server.initialize([repo], PUSH)
    assert "F401" in codes(await open_and_review(hostile_server, repo, "a.py", "import os\n"))
    await still_answers(hostile_server, repo)
    messages = shown(hostile_server)
    assert len(messages) <= 6, len(messages)
    assert any("60,000 unknown settings ignored: k0, k1" in m for m in messages), messages


async def test_a_huge_severity_overrides_is_capped(hostile_server: Raw, repo: Path) -> None:
    entries = "".join(f'X{i:x}="hint"\n' for i in range(63_000))
    (repo / "pyproject.toml").write_text(
        '[tool.tapps-lsp.severityOverrides]\nF401 = "hint"\n' + entries
    )
    await hostile_server.initialize([repo], PUSH)
    diagnostics = await open_and_review(hostile_server, repo, "a.py", "import os\n")
    # The first entries are kept and used: F401 is a hint (4).
    (f401,) = [d for d in diagnostics if d.get("code") == "F401"]
    assert f401["severity"] == 4
    await still_answers(hostile_server, repo)
    (message,) = [m for m in shown(hostile_server) if "severityOverrides" in m]
    assert "62,501 of 63,001 entries dropped (62,501 after the first 500)" in message
