"""The CSV reader on files larger than its windows: the quote scan looks at every byte (a quote
only past the first window is still checked), and reading through the file's memory map gives
every record, in order, however many blocks it spans."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from loader import readers
from loader.exceptions import FileRejected
from loader.readers import _SCAN_WINDOW, detect, open_csv

ROWS = _SCAN_WINDOW // 10 + 50_000  # more bytes than one scan window, several 4 MiB blocks


def _plain(path: Path, tail: bytes) -> int:
    """A CSV of ROWS plain records, then ``tail``; the line ``tail`` starts on."""
    body = b"".join(b"%d,row%d\n" % (i, i % 1000) for i in range(ROWS))
    path.write_bytes(b"id,text\n" + body + tail)
    assert path.stat().st_size > _SCAN_WINDOW
    return ROWS + 2


def _read(path: Path) -> pa.Table:
    with open_csv(detect(path)) as text:
        return pa.Table.from_batches(list(text.batches))


def test_a_bad_quote_past_the_first_window_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    line = _plain(path, b'1,"x"y\n')
    with pytest.raises(FileRejected) as refused:
        _read(path)
    assert refused.value.line == line
    assert "closing quote" in refused.value.reason


def test_a_quoted_field_past_the_first_window_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    _plain(path, b'7,"a ""quoted"", word\nacross lines"\n')
    table = _read(path)
    assert table.num_rows == ROWS + 1
    assert table.column("text")[ROWS].as_py() == 'a "quoted", word\nacross lines'


def test_every_record_of_a_file_of_many_blocks_is_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    _plain(path, b"")
    table = _read(path)
    assert table.num_rows == ROWS
    assert table.column("id").to_pylist() == [str(i) for i in range(ROWS)]
    assert table.column("text")[ROWS - 1].as_py() == f"row{(ROWS - 1) % 1000}"


def test_a_file_system_that_cannot_map_files_is_read_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``mmap`` fails (some network or FUSE mounts), the file is read in blocks and the
    quotes are checked by the block scan: same records, same refusals."""

    def cannot_map(*args: object, **kwargs: object) -> object:
        raise OSError(19, "No such device")

    monkeypatch.setattr(readers.mmap, "mmap", cannot_map)
    good = tmp_path / "good.csv"
    good.write_bytes(b'id,text\n1,"a ""b"""\n2,c\n')
    assert _read(good).column("text").to_pylist() == ['a "b"', "c"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'id,text\n1,"x"y\n')
    with pytest.raises(FileRejected) as refused:
        _read(bad)
    assert refused.value.line == 2
