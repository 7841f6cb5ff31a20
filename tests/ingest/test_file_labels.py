"""What a file's labels decide on ``/files``: a browser form's part type and a ``charset``
(review findings auditc 01 and 02, session 12).

- A browser labels a ``.csv`` part by the system's registry (``application/vnd.ms-excel`` on
  Windows with Office, ``text/plain``, ``text/x-csv``, ...): a part type naming no format is
  read like ``application/octet-stream``, the file name telling the format. Before, 415.
- A ``charset`` label is no rule: the bytes are judged by the landing dialect. ``us-ascii``
  (RFC 4180's default for ``text/csv``) is UTF-8; a CSV labelled ``utf-16`` is read as the
  dialect reads it (UTF-16 with its mark). Before, both 415 "only utf-8"."""

from __future__ import annotations

import base64

import pytest
from api_support import landed
from deltalake import DeltaTable
from fastapi.testclient import TestClient

from lakehouse import Settings
from lakehouse.layout import table_path
from lakehouse.storage import arrow_dataset
from loader import Loader

FILES = "/v1/tables/labels/files"
CSV = "id,name\n1,café\n2,Zürich\n".encode()


def _loaded(settings: Settings) -> list[dict[str, object]]:
    Loader(settings).load_pending()
    table = DeltaTable(str(table_path(settings, "bronze", "labels")))
    rows: list[dict[str, object]] = arrow_dataset(table).to_table().to_pylist()
    return sorted(rows, key=lambda row: str(row["id"]))


@pytest.mark.parametrize(
    "part_type",
    ["application/vnd.ms-excel", "text/plain", "text/x-csv", "text/comma-separated-values"],
)
def test_a_browser_form_upload_of_a_csv_is_read_by_its_name(
    client: TestClient, api_settings: Settings, part_type: str
) -> None:
    r = client.post(FILES, files={"file": ("data.csv", CSV, part_type)})
    assert r.status_code == 202, r.text
    assert [row["name"] for row in _loaded(api_settings)] == ["café", "Zürich"]


@pytest.mark.parametrize(
    ("name", "part_type"),
    [
        ("data.xls", "application/vnd.ms-excel"),
        ("data", "text/plain"),
        ("data.csv", "application/json"),
    ],
)
def test_a_part_whose_name_tells_no_format_or_contradicts_its_type_is_415(
    client: TestClient, api_settings: Settings, name: str, part_type: str
) -> None:
    r = client.post(FILES, files={"file": (name, CSV, part_type)})
    assert r.status_code == 415, r.text
    assert landed(api_settings, "labels") == []


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("text/csv; charset=us-ascii", b"id,name\n1,cafe\n2,Zurich\n"),
        ("text/csv; charset=US-ASCII", b"id,name\n1,cafe\n2,Zurich\n"),
        ("text/csv; charset=utf-16", "id,name\n1,café\n2,Zürich\n".encode("utf-16")),
        ("text/csv; charset=utf-8", CSV),
    ],
)
def test_a_charset_the_dialect_reads_is_taken(
    client: TestClient, api_settings: Settings, label: str, data: bytes
) -> None:
    r = client.post(FILES, content=data, headers={"content-type": label})
    assert r.status_code == 202, r.text
    assert len(_loaded(api_settings)) == 2


@pytest.mark.parametrize(
    ("label", "data", "words"),
    [
        ("text/csv; charset=windows-1252", b"id,name\n1,caf\xe9\n", "UTF-8, or UTF-16"),
        ("application/x-ndjson; charset=utf-16", '{"id": 1}\n'.encode("utf-16"), "UTF-8 only"),
    ],
)
def test_a_charset_never_read_is_415_saying_what_is(
    client: TestClient, api_settings: Settings, label: str, data: bytes, words: str
) -> None:
    r = client.post(FILES, content=data, headers={"content-type": label})
    assert r.status_code == 415, r.text
    assert words in r.json()["detail"]
    assert landed(api_settings, "labels") == []


def test_a_utf16_label_on_bytes_without_a_mark_is_refused_by_the_bytes(
    client: TestClient, api_settings: Settings
) -> None:
    data = "id,name\n1,café\n".encode("utf-16-le")  # no mark: not a text the dialect reads
    r = client.post(FILES, content=data, headers={"content-type": "text/csv; charset=utf-16le"})
    assert r.status_code == 400, r.text
    assert "UTF-8" in r.json()["detail"]
    assert landed(api_settings, "labels") == []


HEADERLESS = b"1,a\n2,b\n"


@pytest.mark.parametrize(
    ("media", "name", "body"),
    [
        ("text/csv; header=absent", None, HEADERLESS),
        ('text/csv; charset=utf-8; header="absent"', "x.csv", HEADERLESS),
        ("text/tab-separated-values; header=absent", None, b"1\ta\n2\tb\n"),
        ("text/csv; header=maybe", None, HEADERLESS),
    ],
)
def test_header_absent_is_415_naming_the_parameter(
    client: TestClient, api_settings: Settings, media: str, name: str | None, body: bytes
) -> None:
    """RFC 4180's ``header`` parameter (review finding revc 11, session 13): told line 1 is a
    record, the API refuses rather than read it as names (before: 202, ``1,a`` loaded as column
    names, one row of two)."""
    url = FILES + (f"?filename={name}" if name else "")
    r = client.post(url, content=body, headers={"content-type": media})
    assert r.status_code == 415, r.text
    assert "header=" in r.json()["detail"] and "line 1" in r.json()["detail"]
    assert landed(api_settings, "labels") == []


def test_a_multipart_part_typed_header_absent_is_415(
    client: TestClient, api_settings: Settings
) -> None:
    r = client.post(FILES, files={"file": ("x.csv", HEADERLESS, "text/csv; header=absent")})
    assert r.status_code == 415, r.text
    assert "header='absent'" in r.json()["detail"]
    assert landed(api_settings, "labels") == []


def test_header_present_loads_line_1_as_names(client: TestClient, api_settings: Settings) -> None:
    r = client.post(FILES, content=CSV, headers={"content-type": "text/csv; header=present"})
    assert r.status_code == 202, r.text
    r = client.post(FILES, files={"file": ("x.csv", CSV, "text/csv; header=Present")})
    assert r.status_code == 202, r.text
    assert [row["name"] for row in _loaded(api_settings)] == ["café", "café", "Zürich", "Zürich"]


@pytest.mark.parametrize(
    ("part_type", "name"),
    [
        ("text/csv; charset=iso-8859-1", "x.csv"),
        ("text/plain; charset=windows-1252", "x.csv"),
        ("application/x-ndjson; charset=utf-16", "x.ndjson"),
    ],
)
def test_a_multipart_part_labelled_another_charset_is_415(
    client: TestClient, api_settings: Settings, part_type: str, name: str
) -> None:
    """A form part's ``charset`` is the file's, as a raw body's is (session 14): a part
    labelled Latin-1 whose bytes are also valid UTF-8 (the Latin-1 text ``Ã©`` is the bytes
    C3 A9, which UTF-8 reads as ``é``) would otherwise land as text the client did not send.
    Before: 202, the label ignored."""
    body = "id,name\n1,Ã©\n".encode() if name.endswith(".csv") else b'{"id": 1}\n'
    r = client.post(FILES, files={"file": (name, body, part_type)})
    assert r.status_code == 415, r.text
    assert "charset" in r.json()["detail"]
    assert landed(api_settings, "labels") == []


def test_a_multipart_part_labelled_utf8_or_ascii_loads(
    client: TestClient, api_settings: Settings
) -> None:
    for part_type in ("text/csv; charset=UTF-8", "text/csv; charset=us-ascii"):
        r = client.post(FILES, files={"file": ("x.csv", CSV, part_type)})
        assert r.status_code == 202, r.text
    assert [row["name"] for row in _loaded(api_settings)] == ["café", "café", "Zürich", "Zürich"]


def _form(part_headers: str, payload: bytes) -> bytes:
    return (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        + f"Content-Type: text/csv\r\n{part_headers}\r\n".encode()
        + payload
        + b"\r\n--XyZ--\r\n"
    )


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("quoted-printable", b"id,name\r\n1,caf=C3=A9\r\n"),
        ("Base64", base64.b64encode("id,name\r\n1,café\r\n".encode())),
        ("x-uuencode", b"begin 644 x.csv\r\n"),
    ],
)
def test_a_multipart_part_in_a_transfer_encoding_is_415_naming_it(
    client: TestClient, api_settings: Settings, encoding: str, payload: bytes
) -> None:
    """A part sent in a MIME transfer encoding (review finding revx 01, session 14): the form
    parser does not decode it. Before: quoted-printable ``caf=C3=A9`` landed as that text (202,
    the sender's value is ``café``); base64 was refused 422 "a header and no rows", untrue."""
    body = _form(f"Content-Transfer-Encoding: {encoding}\r\n", payload)
    r = client.post(
        FILES, content=body, headers={"content-type": "multipart/form-data; boundary=XyZ"}
    )
    assert r.status_code == 415, r.text
    assert f"Content-Transfer-Encoding '{encoding}'" in r.json()["detail"]
    assert landed(api_settings, "labels") == []


@pytest.mark.parametrize("encoding", ["binary", "8bit", "7BIT", None])
def test_a_multipart_part_in_an_identity_transfer_encoding_loads(
    client: TestClient, api_settings: Settings, encoding: str | None
) -> None:
    header = f"Content-Transfer-Encoding: {encoding}\r\n" if encoding else ""
    r = client.post(
        FILES,
        content=_form(header, CSV),
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert r.status_code == 202, r.text
    assert [row["name"] for row in _loaded(api_settings)] == ["café", "Zürich"]
