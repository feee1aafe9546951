"""What a workspace review covers (.gitignore, excludes, tool folders, symlinks) and the
reports `tapps.exportReport` writes: each format checked, and where it may write."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
import pytest_asyncio
from e2e_support import ROOT, Session
from pygls.exceptions import JsonRpcException
from workspace_support import recorder, scan, start, status, stop, wait_end

pytestmark = pytest.mark.asyncio(loop_scope="module")

SARIF_SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("outside")
    (root / "secret.py").write_text("import os\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module", params=["vscode-push", "neovim-push"])
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, outside: Path, variant: str) -> Path:
    root = tmp_path_factory.mktemp("export") / "project"
    files = {
        "app.py": "import os\nimport sys\n\n\ndef main():\n    return os.getcwd()\n",
        # F401 on `os` is at code point 16: UTF-16 unit 17, UTF-8 byte 19.
        "emoji.py": 'x = "\U0001f600"; import os\n',
        "lib/util.py": "def twice(x):\n    return 2 * x\n",
        "ignored/skip.py": "import sys\n",
        "gen/generated.py": "import sys\n",
        "build/out.py": "import sys\n",
        "node_modules/pkg/m.py": "import sys\n",
        "env/lib/site.py": "import sys\n",
        "env/pyvenv.cfg": "home = /usr/bin\n",
        ".gitignore": "ignored/\n",
        "pyproject.toml": '[tool.tapps-lsp]\nexclude = ["gen/"]\n',
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "lib" / "back").symlink_to("..", target_is_directory=True)
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    (root / "escape.py").symlink_to(outside / "secret.py")
    # Unreadable as source: reported as skipped, and must not hang the scan.
    os.mkfifo(root / "pipe.py")
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory, variant: str) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(variant: str, workspace: Path, cache_dir: Path) -> AsyncIterator[Session]:
    s = await start(variant, workspace, cache_dir)
    yield s
    await stop(s)


async def export(session: Session, **options: str) -> Path:
    return Path(await session.command("tapps.exportReport", options))


async def test_export_before_any_review_says_so(session: Session) -> None:
    with pytest.raises(JsonRpcException, match="run tapps.reviewWorkspace first"):
        await export(session, format="json")


async def test_bad_command_arguments_are_named(session: Session, outside: Path) -> None:
    with pytest.raises(JsonRpcException, match="is not a workspace folder"):
        await session.command("tapps.reviewWorkspace", {"folder": outside.as_uri()})
    with pytest.raises(JsonRpcException, match="takes one object argument"):
        await session.command("tapps.reviewWorkspace", "file:///")
    with pytest.raises(JsonRpcException, match="no task 'nope'"):
        await session.command("tapps.taskStatus", "nope")
    assert await session.command("tapps.cancelTask", "nope") == {"cancelled": False}
    assert await session.command("tapps.listTasks") == []


async def test_the_review_covers_only_the_projects_own_files(
    session: Session, workspace: Path, cache_dir: Path
) -> None:
    # An open document with unsaved text: the scan (of the disk) must not replace its results.
    app = (workspace / "app.py").as_uri()
    await session.open(app, "import json\n")
    task_id, token, _ = await scan(session)
    end = await wait_end(session, token)
    assert end.message.startswith("4 files (0 from cache)")
    assert (await status(session, task_id))["state"] == "done"
    rec = recorder(session)
    assert rec.published[app][-1].version == 1
    assert "json" in rec.published[app][-1].diagnostics[0].message
    await session.close(app)
    (f401,) = [
        d
        for d in rec.published[(workspace / "emoji.py").as_uri()][-1].diagnostics
        if d.code == "F401"
    ]
    assert f401.range.start.character == (19 if session.utf8 else 17)

    path = await export(session, format="json")
    assert path == cache_dir / "reports" / "tapps-report-project.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    files = {Path(f["path"]).relative_to(workspace).as_posix(): f for f in report["files"]}
    assert sorted(files) == ["app.py", "emoji.py", "lib/util.py", "pipe.py"]
    assert files["pipe.py"]["skipped"].startswith("File skipped: cannot be read")
    assert files["app.py"]["skipped"] is None
    assert report["summary"]["files"] == 4 and report["summary"]["skipped"] == 1


async def test_each_format_is_valid(session: Session, workspace: Path) -> None:
    sarif = json.loads((await export(session, format="sarif")).read_text(encoding="utf-8"))
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    assert sarif["version"] == "2.1.0"
    rules = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert "F401" in rules

    markdown = (await export(session, format="markdown")).read_text(encoding="utf-8")
    assert markdown.startswith("#") and "app.py" in markdown and "pipe.py" in markdown

    html_path = await export(session, format="html")
    assert html_path.suffix == ".html"
    page = _Page()
    page.feed(html_path.read_text(encoding="utf-8"))
    page.close()
    assert "svg" in page.tags and "table" in page.tags
    # Self-contained: nothing is loaded from elsewhere.
    assert not page.external, page.external


async def test_a_report_path_must_stay_inside_the_workspace_or_the_cache(
    session: Session, workspace: Path, outside: Path
) -> None:
    inside = await export(session, format="html", path="reports/review.html")
    assert inside == workspace / "reports" / "review.html" and inside.is_file()
    as_uri = await export(session, format="json", path=(workspace / "r.json").as_uri())
    assert as_uri == workspace / "r.json" and as_uri.is_file()

    (workspace / "planted.html").symlink_to(outside / "planted.html")
    refused = {
        str(outside / "report.html"): "inside a workspace folder",
        "../../report.html": "inside a workspace folder",
        "planted.html": "inside a workspace folder",
        "app.py": "suffixes",
        "lib": "suffixes",
    }
    for path, reason in refused.items():
        with pytest.raises(JsonRpcException, match=reason):
            await export(session, format="html", path=path)
    with pytest.raises(JsonRpcException, match="format must be one of"):
        await export(session, format="pdf")
    assert sorted(os.listdir(outside)) == ["secret.py"]
    assert (workspace / "app.py").read_text(encoding="utf-8").startswith("import os")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(f"{tag} {name}={value}")
