"""docs/configuration.md must list exactly the settings of the schema."""

from pathlib import Path

from tapps_lsp.settings_docs import markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_doc_matches_schema() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- settings-table:start -->") + len("<!-- settings-table:start -->\n")
    end = text.index("<!-- settings-table:end -->")
    assert text[start:end] == markdown_table(), (
        "docs/configuration.md is out of date: regenerate its table from "
        "tapps_lsp.settings_docs.markdown_table()"
    )
