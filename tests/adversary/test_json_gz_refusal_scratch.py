"""A refused big ``.json.gz``: inflated once, beside the upload, never in the system's
temporary folder (review finding reada 04 of session 19).

The API's refusal path of a gzipped ``.json`` past ``api_max_body_bytes`` inflated it twice,
each time into the system's temporary folder: once for the whole text's words
(``ingest.filecheck._whole_text_refusal``), once for the one order of its problems
(``lakehouse.jsonorder``): a 64 MiB upload at ``max_inflate_ratio`` 250 wrote up to 2 x 16 GiB
outside the lakehouse's folders, where its free-space guard (``api_min_free_bytes``) does not
look. Now it is inflated at most once, into the upload's own folder (``raw/<table>/``, unnamed:
the loader never sees it). Measured here in this process (the real server runs in a thread of
it): the bytes it writes (``/proc/self/io``), with the system's temporary folder pointing
nowhere, so that any scratch file put there fails the request.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import httpx
import pytest
from adversary_support import lakehouse, post_file

from ingest.server import BackgroundServer

#: the first record repeats a key; then ~23 MiB of records (the bound is lowered to 1 MiB)
_BODY = b"".join(
    [b'[{"a": 1, "a": 2}']
    + [
        b', {"n": %d, "p": "%s"}' % (i, b"%08d" % (i * 7919 % 99999989) * 120)
        for i in range(24 * 1024)
    ]
    + [b"]"]
)


def _written() -> int:
    """The bytes this process has written to storage (its threads' too)."""
    with open("/proc/self/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    return int(fields["write_bytes"])


def test_a_refused_big_json_gz_is_inflated_once_beside_the_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    settings = lakehouse(tmp_path, api_max_body_bytes=1024**2)
    sent = gzip.compress(_BODY, 6)
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url) as api:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
        before = _written()
        response = post_file(api, "events", "a.json.gz", sent)
        written = _written() - before
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0] | {"msg": None} == {
        "loc": ["body", 0, "a"],
        "row": 0,
        "field": "a",
        "msg": None,
        "type": "duplicate_key",
    }
    # one inflated copy and the upload itself (at main: two copies, ~46 MiB more than this)
    assert written < len(_BODY) + len(sent) + 4 * 1024**2, (written, len(_BODY))
    left = settings.raw_dir / "events"
    assert not left.exists() or not list(left.iterdir())  # nothing left beside the upload
