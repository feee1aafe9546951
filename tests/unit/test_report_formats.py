"""The one registry of report formats (tapps_lsp.reports.REPORT_FORMATS) and its readers:
the CLI's --format, the export command's formats and suffixes, and the Neovim plugin's
completion list, which cannot import Python and so is compared here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tapps_lsp.cli import build_parser
from tapps_lsp.reports import EXPORT_FORMATS, FORMATS, REPORT_FORMATS, Run, render
from tapps_lsp.reports.export import suffixes

COMMANDS_LUA = Path(__file__).parents[2] / "editors" / "nvim" / "lua" / "tapps" / "commands.lua"


def _lua_report_formats() -> set[str]:
    text = COMMANDS_LUA.read_text(encoding="utf-8")
    match = re.search(r"^M\.report_formats\s*=\s*\{([^}]*)\}", text, re.MULTILINE)
    assert match, f"no M.report_formats table in {COMMANDS_LUA}"
    return {a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", match.group(1))}


def test_the_neovim_plugin_completes_every_exportable_format_and_only_those() -> None:
    assert _lua_report_formats() == set(EXPORT_FORMATS)


def test_export_takes_the_registrys_formats_and_suffixes() -> None:
    for name in EXPORT_FORMATS:
        assert suffixes(name) == REPORT_FORMATS[name].suffixes
    with pytest.raises(ValueError, match="format must be one of"):
        suffixes("text")  # the terminal's format is not exported


@pytest.mark.parametrize("command", [["check", "."], ["report", "merge", "a.json"]])
def test_the_cli_offers_every_format(command: list[str]) -> None:
    parser = build_parser()
    for name in FORMATS:
        assert parser.parse_args([*command, "--format", name]).format == name
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "--format", "pdf"])


def test_every_registered_format_renders() -> None:
    for name in FORMATS:
        assert render([], name, Run())
    with pytest.raises(ValueError, match="unknown report format"):
        render([], "pdf")
