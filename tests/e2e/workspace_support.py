"""Support for the workspace-review tests: a client that also records progress with
arrival times, partial results and capability registrations, and a server started
the way the other e2e tests start it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from e2e_support import SERVER_COMMAND, Recorder, Session, capabilities, server_env
from e2e_support import make_client as e2e_make_client
from lsprotocol import types
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES

# A server-side flaw or a hang shows up as a timeout here, not as a stuck test run.
WAIT = 120.0


class ScanRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__()
        # token -> [(arrival time, Begin/Report/End)]
        self.progress: dict[str | int, list[tuple[float, Any]]] = {}
        self.tokens: list[str | int] = []
        self.partials: dict[str | int, list[Any]] = {}

    def values(self, token: str | int) -> list[Any]:
        return [value for _, value in self.progress.get(token, [])]

    def ended(self, token: str | int) -> bool:
        values = self.values(token)
        return bool(values) and values[-1].kind == "end"


def make_client() -> LanguageClient:
    recorder = ScanRecorder()
    check_progress = DEFAULT_CLIENT_FEATURES[types.PROGRESS]

    def scan_features(client: LanguageClient) -> dict[str, Any]:
        async def progress(params: types.ProgressParams) -> None:
            arrived = time.perf_counter()
            if params.token in recorder.partials:
                recorder.partials[params.token].append(params.value)
            else:
                # pytest-lsp's own handler checks the token and the kind (spec warnings).
                check_progress(client, params)
                value = client.progress_reports[params.token][-1]
                recorder.progress.setdefault(params.token, []).append((arrived, value))
            await recorder._notify()

        async def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            DEFAULT_CLIENT_FEATURES[types.WINDOW_WORK_DONE_PROGRESS_CREATE](client, params)
            recorder.tokens.append(params.token)
            await recorder._notify()

        return {
            types.PROGRESS: progress,
            types.WINDOW_WORK_DONE_PROGRESS_CREATE: create_progress,
        }

    return e2e_make_client(recorder, scan_features)


async def start(
    variant: str,
    workspace: Path,
    cache_dir: Path,
    *,
    initialization_options: dict[str, Any] | None = None,
) -> Session:
    client = make_client()
    await client.start_io(*SERVER_COMMAND, env=server_env(cache_dir))
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(variant),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
            initialization_options=initialization_options,
        )
    )
    return Session(client, variant, workspace)


async def stop(session: Session) -> None:
    await session.client.shutdown_session()
    await session.client.stop()


def recorder(session: Session) -> ScanRecorder:
    assert isinstance(session.recorder, ScanRecorder)
    return session.recorder


async def scan(session: Session, *arguments: Any) -> tuple[str, str | int, float]:
    """Start a workspace review: (task id, its progress token, seconds to the answer)."""
    rec = recorder(session)
    known = len(rec.tokens)
    started = time.perf_counter()
    answer = await session.command("tapps.reviewWorkspace", *arguments)
    seconds = time.perf_counter() - started
    await rec.wait_for(lambda: len(rec.tokens) > known, WAIT)
    return answer["taskId"], rec.tokens[known], seconds


async def wait_end(session: Session, token: str | int) -> Any:
    rec = recorder(session)
    await rec.wait_for(lambda: rec.ended(token), WAIT)
    return rec.values(token)[-1]


def files_done(values: list[Any]) -> int:
    """The highest "done" count the reports have announced so far."""
    return max(
        (int(v.message.split("/", 1)[0]) for v in values if v.kind == "report" and v.message),
        default=0,
    )


async def wait_results(session: Session, token: str | int) -> None:
    """Wait until the reports say files are being reviewed (or the scan ended)."""
    rec = recorder(session)
    await rec.wait_for(lambda: files_done(rec.values(token)) > 0 or rec.ended(token), WAIT)


async def status(session: Session, task_id: str) -> dict[str, Any]:
    return dict(await session.command("tapps.taskStatus", task_id))


def generate(root: Path, count: int) -> list[Path]:
    """`count` small, distinct modules (each has an unused import: one finding each)."""
    paths = []
    for i in range(count):
        package = root / f"pkg{i // 100:02d}"
        package.mkdir(parents=True, exist_ok=True)
        path = package / f"mod{i:04d}.py"
        path.write_text(
            f'"""Module {i}."""\n\nimport os\n\n\ndef value_{i}(x: int) -> int:\n'
            f"    if x > {i}:\n        return x - {i}\n    return x + {i}\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths
