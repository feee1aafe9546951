"""reports/export.py: where a report may be written, refused with ValueError (not JSON-RPC),
and written atomically; the handler's JSON-RPC answers are pinned in
tests/e2e/test_workspace_export.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapps_lsp.reports.export import Destination, report_path, suffixes, write_atomic


@pytest.fixture
def where(tmp_path: Path) -> Destination:
    (tmp_path / "ws").mkdir()
    return Destination(base=tmp_path / "ws", roots=[tmp_path / "ws"], reports=tmp_path / "rep")


def test_an_unknown_format_is_a_value_error() -> None:
    assert suffixes("sarif") == (".sarif", ".json")
    with pytest.raises(ValueError, match="format must be one of"):
        suffixes("pdf")


def test_the_default_goes_to_the_reports_folder(where: Destination) -> None:
    assert report_path("html", None, where) == where.reports / "tapps-report-ws.html"


@pytest.mark.parametrize(
    ("requested", "reason"),
    [
        ("../outside.html", "may only be written inside a workspace folder"),
        ("/etc/passwd.html", "may only be written inside a workspace folder"),
        ("report.txt", "needs one of the suffixes .html, .htm"),
        ("file://host/share/r.html", "is not a local file URI"),
    ],
)
def test_paths_out_of_bounds_are_refused(where: Destination, requested: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        report_path("html", requested, where)


def test_a_folder_named_like_a_report_is_refused(where: Destination) -> None:
    (where.base / "r.html").mkdir()
    with pytest.raises(ValueError, match="exists and is not a regular file"):
        report_path("html", "r.html", where)


def test_a_refused_cache_directory_takes_no_default_report(tmp_path: Path) -> None:
    where = Destination(base=tmp_path, roots=[tmp_path], reports=tmp_path / "rep", refused="0777")
    with pytest.raises(ValueError, match=r"cache directory was refused \(0777\)"):
        report_path("json", None, where)
    assert report_path("json", "r.json", where) == tmp_path.resolve() / "r.json"


def test_the_write_replaces_a_planted_symlink_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep", encoding="utf-8")
    report = tmp_path / "reports" / "r.html"
    report.parent.mkdir()
    report.symlink_to(target)
    write_atomic(report, "<html></html>")
    assert not report.is_symlink() and report.read_text(encoding="utf-8") == "<html></html>"
    assert target.read_text(encoding="utf-8") == "keep"
    assert os.listdir(report.parent) == ["r.html"]


def test_a_failed_write_is_a_value_error_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cannot write .*plain/r\.json"):
        write_atomic(tmp_path / "plain" / "r.json", "{}")
    assert sorted(os.listdir(tmp_path)) == ["plain"]
