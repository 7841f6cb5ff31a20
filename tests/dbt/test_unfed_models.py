"""DbtSession.unfed_models: the models no source feeds, read from the manifest dbt wrote only
when that file changed (every event build asks until the first that builds them succeeds; a
project without such a model asks on every build)."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_support import project_settings, write_project

from transform import DbtSession

MODELS = {
    "models/staging/stg_orders.sql": "select * from {{ source('bronze', 'orders') }}",
    "models/marts/calendar.sql": """
        select cast(d as date) as day
        from range(date '2026-01-01', date '2026-01-08', interval 1 day) as t(d)
    """,
}


def test_unfed_models_read_again_only_when_the_manifest_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "project", MODELS)
    session = DbtSession(project_settings(tmp_path, project))
    assert session.invoke(["parse"]).success
    manifest = project / "target" / "manifest.json"
    reads: list[Path] = []
    read_text = Path.read_text

    def counted(self: Path, *args: object, **kwargs: object) -> str:
        if self == manifest:
            reads.append(self)
        return read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", counted)
    assert session.unfed_models() == ["calendar"]
    assert session.unfed_models() == ["calendar"]
    assert len(reads) == 1  # the same file: not read (nor its 1 MB of JSON parsed) again

    # a model no source feeds added and parsed: the manifest changed, so it is read again
    (project / "models" / "marts" / "weeks.sql").write_text(
        "select range as week from range(1, 53)\n"
    )
    assert session.invoke(["parse"]).success
    assert session.unfed_models() == ["calendar", "weeks"]
    assert len(reads) == 2
    # a result handed out is the caller's: changing it changes nothing kept
    session.unfed_models().append("orders")
    assert session.unfed_models() == ["calendar", "weeks"]
