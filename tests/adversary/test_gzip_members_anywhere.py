"""A ``.gz`` file is read as ``gzip`` reads it: every member, one after another, wherever the
writer cut the text into members (``docs/loading.md``, gzip). Real writers cut anywhere: ``cat
a.gz b.gz``, bgzip's BGZF blocks of 64 KiB (bioinformatics ``.tsv.gz``), a logger's member per
flush. So a small CSV, TSV, NDJSON and JSON text is cut into two members at every byte (inside a
quoted field, between a CR and its LF, inside a UTF-8 character, inside a JSON string), and sent
in other member layouts (an empty member first or last, one member per byte, a header naming
the file and a comment, BGZF's extra field): the API answers 202 and bronze holds the rows of the
inflated text, exactly (``adversary_support.expected``), as for the plain file.

Corpus review of session 19 (revc, gzip variants, all 12 layouts that gzip reads loaded alike);
the variants gzip does not read (trailing bytes, bad CRC, truncated) are refused, in one set of
words since session 19 (review revc s19 01: the API and the loader gave two), asserted by
``test_refusal_words_sweep.test_a_gzip_that_cannot_be_read_is_said_alike``, not here.
"""

from __future__ import annotations

import gzip
import struct
import zlib

import pytest
from adversary_support import Outcome, Table, expected, mismatches, run

from lakehouse import Settings

TEXTS = {
    "csv": 'id,name\r\n1,"a\r\nb"\r\n2,café\r\n'.encode(),
    "tsv": "id\tname\n1\tcafé\n2\tx\n".encode(),
    "ndjson": '{"id":1,"s":"é,\\n"}\n{"id":2,"s":"x"}\n'.encode(),
    "json": '[{"id":1,"s":"é"},{"id":2,"s":"x"}]'.encode(),
}


def _raw_member(data: bytes, flags: int = 0, extra: bytes = b"", name: bytes = b"") -> bytes:
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff"
    if flags & 4:
        head += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        head += name + b"\0"
    if flags & 16:
        head += b"a comment\0"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    return head + body + struct.pack("<II", zlib.crc32(data), len(data))


def _bgzf(data: bytes) -> bytes:
    """One BGZF block (bgzip's member: an extra field 'BC' giving the block's size)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    size = len(deflate.compress(data) + deflate.flush()) + 25
    return _raw_member(data, flags=4, extra=b"BC" + struct.pack("<HH", 2, size))


def _layouts() -> list[tuple[str, str, bytes]]:
    """(case id, landed name, gzip bytes)."""
    cases = []
    for kind, text in TEXTS.items():
        name = f"x.{kind}.gz"
        for cut in range(1, len(text)):
            two = gzip.compress(text[:cut], mtime=0) + gzip.compress(text[cut:], mtime=0)
            cases.append((f"{kind}-cut-{cut}", name, two))
        cases += [
            (
                f"{kind}-empty-first",
                name,
                gzip.compress(b"", mtime=0) + gzip.compress(text, mtime=0),
            ),
            (
                f"{kind}-empty-last",
                name,
                gzip.compress(text, mtime=0) + gzip.compress(b"", mtime=0),
            ),
            (
                f"{kind}-byte-members",
                name,
                b"".join(gzip.compress(text[i : i + 1], mtime=0) for i in range(len(text))),
            ),
            (f"{kind}-fname-fcomment", name, _raw_member(text, flags=8 | 16, name=b"x")),
            (f"{kind}-bgzf", name, _bgzf(text[:10]) + _bgzf(text[10:]) + _bgzf(b"")),
        ]
    return cases


CASES = _layouts()


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    by_table = run(
        module_lakehouse, [(f"m{i}", name, data) for i, (_, name, data) in enumerate(CASES)]
    )
    return {case: by_table[f"m{i}"] for i, (case, _, _) in enumerate(CASES)}


@pytest.mark.parametrize("case", [c for c, _, _ in CASES])
def test_a_gz_file_loads_its_rows_wherever_its_members_are_cut(
    outcomes: dict[str, Outcome], case: str
) -> None:
    outcome = outcomes[case]
    kind = case.split("-")[0]
    want = expected(f"x.{kind}", TEXTS[kind])
    assert isinstance(want, Table)
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert mismatches(outcome.loaded_rows, want, kind in ("ndjson", "json")) == []
