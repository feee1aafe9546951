"""Fuzz the running server with random sequences of valid and invalid LSP messages.

One server serves every example (starting one per example would cost more
than the examples); each example sends its sequence, then a marker request,
and checks that every request it sent got exactly one response and that the
server still answers. `make fuzz` runs 2000 examples (TAPPS_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robustness.raw import Raw, frame_body

EXAMPLES = int(os.environ.get("TAPPS_FUZZ_EXAMPLES", "25"))

_docs = itertools.count()

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**31), 2**31), st.text(max_size=8))
junk = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
python_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "import os\n",
            "def f(:\n",
            "x = 1\r\ny = 2\r",
            "s = '\u00e9\U0001f600'\nimport sys\n",
            "\x00\x01",
            "class A:\n    def m(self):\n        return undefined\n",
        ]
    ),
)
position = st.fixed_dictionaries({"line": st.integers(0, 30), "character": st.integers(0, 200)})
a_range = st.fixed_dictionaries({"start": position, "end": position})


class Step:
    """One message of a sequence: a request (expects a response) or not."""

    def __init__(self, kind: str, payload: Any, request: bool) -> None:
        self.kind, self.payload, self.request = kind, payload, request

    def __repr__(self) -> str:
        return f"{self.kind}:{str(self.payload)[:120]}"


@st.composite
def steps(draw: st.DrawFn, uris: list[str]) -> Step:
    uri = draw(st.sampled_from(uris))
    doc = {"uri": uri}
    choice = draw(st.integers(0, 13))
    if choice == 0:
        item = {"uri": uri, "languageId": "python", "version": draw(st.integers(0, 50))}
        item["text"] = draw(python_text)
        return Step("textDocument/didOpen", {"textDocument": item}, False)
    if choice == 1:
        change: dict[str, Any] = {"text": draw(python_text)}
        if draw(st.booleans()):
            change["range"] = draw(a_range)
        versioned = {**doc, "version": draw(st.integers(-1, 100))}
        params = {"textDocument": versioned, "contentChanges": [change]}
        return Step("textDocument/didChange", params, False)
    if choice == 2:
        return Step("textDocument/didSave", {"textDocument": doc}, False)
    if choice == 3:
        return Step("textDocument/didClose", {"textDocument": doc}, False)
    if choice == 4:
        params = {"textDocument": doc, "position": draw(position)}
        return Step("textDocument/hover", params, True)
    if choice == 5:
        context = {"diagnostics": [], "only": draw(st.sampled_from([None, ["quickfix"]]))}
        params = {"textDocument": doc, "range": draw(a_range), "context": context}
        return Step("textDocument/codeAction", params, True)
    if choice == 6:
        return Step("textDocument/codeLens", {"textDocument": doc}, True)
    if choice == 7:
        previous = draw(st.one_of(st.none(), st.text(max_size=10)))
        pull = {"textDocument": doc, "identifier": "tapps", "previousResultId": previous}
        return Step("textDocument/diagnostic", pull, True)
    if choice == 8:
        command = draw(
            st.sampled_from(
                ["tapps.reviewFile", "tapps.cacheStats", "tapps.taskStatus", "tapps.listTasks"]
            )
        )
        arguments = draw(st.one_of(st.just([uri]), st.lists(junk, max_size=2)))
        return Step("workspace/executeCommand", {"command": command, "arguments": arguments}, True)
    if choice == 9:
        # Any method with any params: unknown methods, params of the wrong shape.
        method = draw(
            st.sampled_from(
                [
                    "textDocument/hover",
                    "textDocument/codeAction",
                    "textDocument/diagnostic",
                    "workspace/executeCommand",
                    "textDocument/formatting",
                    "no/such/method",
                ]
            )
        )
        return Step(method, draw(junk), True)
    if choice == 10:
        method = draw(st.sampled_from(["textDocument/didOpen", "textDocument/didChange", "x/y"]))
        return Step(method, draw(junk), False)
    if choice == 11:
        return Step(
            "$/cancelRequest", {"id": draw(st.integers(0, 10**6) | st.text(max_size=4))}, False
        )
    if choice == 12:
        body = draw(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
        return Step("raw", body, False)
    return Step(
        "workspace/didChangeWatchedFiles",
        {"changes": [{"uri": uri, "type": draw(st.integers(1, 3))}]},
        False,
    )


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Raw, asyncio.AbstractEventLoop, Path]]:
    loop = asyncio.new_event_loop()
    tmp = tmp_path_factory.mktemp("fuzz")
    workspace = tmp / "ws"
    workspace.mkdir()
    (workspace / "ondisk.py").write_text("import os\n")
    raw = loop.run_until_complete(Raw.start(tmp))
    capabilities = {
        "textDocument": {"diagnostic": {}, "publishDiagnostics": {"versionSupport": True}},
        "workspace": {"diagnostics": {"refreshSupport": True}},
    }
    loop.run_until_complete(raw.initialize([workspace], capabilities))
    yield raw, loop, workspace
    status = loop.run_until_complete(raw.stop())
    loop.close()
    assert status == 0


async def run_sequence(raw: Raw, sequence: list[Step]) -> None:
    ids = []
    for step in sequence:
        if step.kind == "raw":
            raw.send_bytes(frame_body(step.payload))
        elif step.request:
            ids.append(raw.send_request(step.kind, step.payload))
        else:
            raw.notify(step.kind, step.payload)
    ids.append(raw.send_request("workspace/executeCommand", {"command": "tapps.listTasks"}))
    await asyncio.gather(*(raw.response(i, timeout=60) for i in ids))
    # Late duplicates would arrive before the answer to a request sent after them all.
    await raw.request("workspace/executeCommand", {"command": "tapps.cacheStats", "arguments": []})
    assert {i: len(raw.responses[i]) for i in ids if len(raw.responses[i]) != 1} == {}
    assert raw.returncode is None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    database=None,
)
@given(data=st.data())
def test_fuzz_every_request_gets_one_response_and_the_server_lives(
    served: tuple[Raw, asyncio.AbstractEventLoop, Path], data: st.DataObject
) -> None:
    raw, loop, workspace = served
    n = next(_docs)
    uris = [
        (workspace / f"doc{n}.py").as_uri(),
        (workspace / "ondisk.py").as_uri(),
        (workspace / ".." / "outside.py").as_uri(),
        "untitled:Untitled-1",
    ]
    sequence = data.draw(st.lists(steps(uris), min_size=1, max_size=25), label="sequence")
    loop.run_until_complete(run_sequence(raw, sequence))
