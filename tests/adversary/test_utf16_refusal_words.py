"""A CSV that opens with a UTF-16 byte-order mark but is not UTF-16 is refused by the API (400)
and the loader (``encoding``) in one reason naming the byte (``lakehouse.dialect
.first_undecodable``, ``not_utf16_reason``), counted from the file's start, the mark included, as
for UTF-8. Before, the API said only "not UTF-16, though it starts with a UTF-16 byte-order
mark", the loader "not UTF-16 at byte 14 (it began with a BOM)" or, for a text ending in the
middle of a character, "the UTF-16 text ends in the middle of a character" (review finding
audith 07, LOW).
"""

from __future__ import annotations

import gzip

import pytest
from adversary_support import run

from lakehouse.settings import Settings

CASES = {
    "lone_surrogate": (
        b"\xff\xfe" + "a,b\n1,".encode("utf-16-le") + b"\x00\xd8" + "x\n".encode("utf-16-le"),
        14,
    ),
    "odd_byte_at_end": ("\ufeffa,b\n1,2\n".encode("utf-16-le") + b"x", 18),
    "half_a_pair_at_end": ("\ufeffa,b\n1,\U0001f600".encode("utf-16-be")[:-2], 14),
    # a header refused for its names, the byte later: the byte is named (review finding revf
    # 04 of session 20: the API named the header, "column name 'a\\x00' holds the control
    # character" / "column 'a' repeats column 'a'", the loader the byte)
    "control_character_in_a_name_then_odd_byte": (
        "\ufeffa\x00,b\n1,2\n".encode("utf-16-le") + b"\x00",
        20,
    ),
    "repeated_name_then_odd_byte": ("\ufeffa,a\n1,2\n".encode("utf-16-le") + b"\x00", 18),
    "lone_low_past_16_mib": (
        "\ufeffa,b\n".encode("utf-16-le") + "1,2\n".encode("utf-16-le") * 2_100_000 + b"\x00\xdc",
        10 + 8 * 2_100_000,
    ),
}


# gzipped too, but the 16 MiB one (its rows inflate past max_inflate_ratio: 413)
SENT = [(c, False) for c in CASES] + [(c, True) for c in CASES if "16_mib" not in c]


@pytest.mark.parametrize(("case", "gz"), SENT)
def test_one_reason_naming_the_byte(module_lakehouse: Settings, case: str, gz: bool) -> None:
    data, at = CASES[case]
    table = f"{case}_{'gz' if gz else 'plain'}"
    sent = ("t.csv.gz", gzip.compress(data)) if gz else ("t.csv", data)
    out = run(module_lakehouse, [(table, *sent)], rows=False)[table]
    assert out.api_status == 400, out.api_detail
    assert out.refused is not None and out.refused["kind"] == "encoding", out.refused
    assert out.refused["reason"] == (
        f"not UTF-16 at byte {at} (the file starts with a UTF-16 byte-order mark)"
    )
    assert out.api_detail == out.refused["reason"]
