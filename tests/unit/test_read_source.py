"""safe_io.read_source_bytes / read_source_text: the one way a workspace source file is read
(scan workers, the texts of diagnostics and exports, tapps.reviewFile)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapps_lsp.safe_io import UnsafeRead, read_source_bytes, read_source_text


def test_a_fifo_named_like_a_source_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "a.py"
    os.mkfifo(fifo)  # no writer: a blocking open would never return
    with pytest.raises(UnsafeRead, match="not a regular file"):
        read_source_bytes(fifo)


def test_a_file_over_the_cap_gives_its_status_and_no_bytes(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_bytes(b"x = 1\n" * 100)
    st, data = read_source_bytes(big, cap=599)
    assert data is None and st.st_size == 600
    with pytest.raises(UnsafeRead, match="over the limit of 599"):
        read_source_text(big, cap=599)


def test_text_keeps_undecodable_bytes_and_links_inside_are_followed(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_bytes(b"s = '\xff'\n")
    (tmp_path / "alias.py").symlink_to(tmp_path / "real.py")
    assert read_source_text(tmp_path / "alias.py") == "s = '\udcff'\n"
    with pytest.raises(FileNotFoundError):
        read_source_bytes(tmp_path / "missing.py")
