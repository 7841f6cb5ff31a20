"""One vocabulary of landing formats: the API lands what the loader reads, by the same name."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.formats import FORMATS, MEDIA_TYPES, SUFFIXES, FileFormat, from_name
from loader import FileRejected
from loader.readers import detect


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", FileFormat("csv", False)),
        ("A.CSV.GZ", FileFormat("csv", True)),
        ("x.y.tsv", FileFormat("tsv", False)),
        ("e.jsonl", FileFormat("ndjson", False)),
        ("e.ndjson.gz", FileFormat("ndjson", True)),
        ("d.json", FileFormat("json", False)),
        ("p.parquet", FileFormat("parquet", False)),
        ("notes.txt", None),
        ("csv", None),
        (".csv", None),
        ("a.gz", None),
        ("a.csv.zip", None),
    ],
)
def test_from_name(name: str, expected: FileFormat | None) -> None:
    assert from_name(name) == expected


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
@pytest.mark.parametrize("gz", [False, True])
def test_the_loader_reads_every_suffix_as_the_api_names_it(suffix: str, gz: bool) -> None:
    name = "f" + suffix + (".gz" if gz else "")
    fmt = from_name(name)
    assert fmt is not None
    if gz and not FORMATS[fmt.kind].gzip:  # gzipped Parquet: refused by both, in one set of words
        with pytest.raises(FileRejected, match="it compresses inside") as refused:
            detect(Path(name))
        assert refused.value.kind == "unsupported"
        return
    source = detect(Path(name))
    assert (source.kind, source.gzip) == (fmt.kind, fmt.gzip)
    # the API lands under the canonical suffix, which the loader reads the same way
    landed = detect(Path("bat_x" + fmt.suffix))
    assert (landed.kind, landed.gzip) == (fmt.kind, fmt.gzip)


@pytest.mark.parametrize("name", ["notes.txt", "a.xml", "a.csv.zip"])
def test_the_loader_refuses_what_the_api_refuses(name: str) -> None:
    assert from_name(name) is None
    with pytest.raises(FileRejected):
        detect(Path(name))


def test_every_media_type_has_one_format() -> None:
    for fmt in FORMATS.values():
        assert fmt.suffix == fmt.suffixes[0]
        for media in fmt.media_types:
            assert MEDIA_TYPES[media] == fmt.kind
