"""A file being written under a temporary name (``*.tmp``, ``*.part``) is left alone in any
case: ``x.csv.TMP`` (Windows tools write ``.TMP``), ``x.csv.Tmp``, ``x.csv.PART``. Before, only
the lower-case suffixes were, though ``DATA.CSV`` is read as CSV: a half-written ``x.csv.TMP``
was quarantined ``unsupported`` before its writer renamed it (review finding audith 09, LOW).
"""

from __future__ import annotations

import pytest
from adversary_support import _error

from lakehouse import Settings
from lakehouse.layout import raw_dir
from loader import Loader


@pytest.mark.parametrize("name", ["x.csv.tmp", "x.csv.TMP", "x.csv.Tmp", "x.csv.PART"])
def test_a_file_being_written_is_left_alone_whatever_the_case(
    one_lakehouse: Settings, name: str
) -> None:
    folder = raw_dir(one_lakehouse, "t")
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"a,b\n1,")  # half written
    Loader(one_lakehouse).load_pending()
    assert _error(one_lakehouse, "t") is None, _error(one_lakehouse, "t")
    assert (folder / name).exists()
