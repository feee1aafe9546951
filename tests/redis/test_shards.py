"""`check --shard K/N` and `report merge`: three shards merged equal one unsharded run."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from redis_support import tapps

from tapps_lsp.shard import parse, shard_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stdlib_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 standard-library modules in two packages: findings of every kind."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    root = tmp_path_factory.mktemp("shards") / "tree"
    for number, source in enumerate(sorted(stdlib.glob("*.py"))[:60]):
        folder = root / ("alpha" if number % 2 else "beta")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / source.name)
    (root / "pyproject.toml").write_text('[project]\nname = "t"\n')
    return root


def _run(tree: Path, cache: Path, *args: str) -> dict[str, Any]:
    done = tapps("check", str(tree), "--format", "json", *args, cache_dir=cache)
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what differs by nature between runs (time, cache hits)."""
    summary = {k: v for k, v in report["summary"].items() if k not in ("seconds", "fromCache")}
    files = [{k: v for k, v in f.items() if k != "fromCache"} for f in report["files"]]
    return {"summary": summary, "files": files, "tool": report["tool"]}


def test_three_shards_merged_equal_one_unsharded_run(stdlib_tree: Path, tmp_path: Path) -> None:
    whole = _run(stdlib_tree, tmp_path / "whole")
    parts = []
    for k in (1, 2, 3):
        # Each shard on its own "machine" (its own empty cache).
        report = _run(stdlib_tree, tmp_path / f"shard{k}", "--shard", f"{k}/3")
        assert 0 < report["summary"]["files"] < 60
        path = tmp_path / f"shard{k}.json"
        path.write_text(json.dumps(report))
        parts.append(str(path))
    merged_json = tmp_path / "merged.json"
    done = tapps("report", "merge", *parts, "--output", str(merged_json), cache_dir=tmp_path / "m")
    assert done.returncode == 0, done.stderr
    merged = json.loads(merged_json.read_text())
    assert merged["summary"]["files"] == 60
    # Finding by finding, file by file, and every total.
    assert _comparable(merged) == _comparable(whole)

    # Other formats render the merged set as they render the whole run.
    for fmt in ("sarif", "markdown", "html"):
        done = tapps("report", "merge", *parts, "--format", fmt, cache_dir=tmp_path / "m")
        assert done.returncode == 0, done.stderr
        direct = tapps("check", str(stdlib_tree), "--format", fmt, cache_dir=tmp_path / "whole")
        if fmt == "sarif":
            ours, theirs = json.loads(done.stdout), json.loads(direct.stdout)
            assert ours["runs"][0]["results"] == theirs["runs"][0]["results"]
        else:
            assert done.stdout.count("TAPPS-GATE") == direct.stdout.count("TAPPS-GATE")


def test_shards_are_a_partition_and_deterministic(tmp_path: Path) -> None:
    files = [tmp_path / f"d{i % 7}" / f"m{i}.py" for i in range(500)]
    owners = [shard_of(f, tmp_path, 4) for f in files]
    assert set(owners) == {1, 2, 3, 4}
    assert min(owners.count(k) for k in (1, 2, 3, 4)) > 80  # roughly even
    # The same relative path falls in the same shard under another root.
    moved = [tmp_path / "elsewhere" / f.relative_to(tmp_path) for f in files]
    assert [shard_of(f, tmp_path / "elsewhere", 4) for f in moved] == owners


def test_merge_refuses_what_is_not_one_run(stdlib_tree: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = tapps("report", "merge", str(bad), cache_dir=tmp_path / "c")
    assert done.returncode == 2 and "bad.json: not JSON" in done.stderr
    one = _run(stdlib_tree, tmp_path / "c", "--shard", "1/2")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(one))
    b.write_text(json.dumps(one))
    done = tapps("report", "merge", str(a), str(b), cache_dir=tmp_path / "c")
    assert done.returncode == 2 and "also in an earlier report" in done.stderr
    for wrong in ("0/3", "4/3", "x"):
        assert (
            tapps("check", str(stdlib_tree), "--shard", wrong, cache_dir=tmp_path).returncode == 2
        )
    assert parse("2/3") == (2, 3)
