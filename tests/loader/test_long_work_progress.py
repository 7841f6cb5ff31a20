"""Long work shows progress (rows, bytes, rate, time left): a backlog of landing files in
`lakehouse load`, `lakehouse maintain`, the loader's automatic upkeep and a backup: a line per
step on the terminal and the same figures as fields of a JSON log line. (A big file's own line
per piece: test_progress.py.)"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from loader_support import csv_rows, drop

from lakehouse import Settings
from lakehouse.backup import backup
from lakehouse.maintenance import AutoUpkeep, run_maintain, table_bytes
from lakehouse.progress import WorkProgress
from loader import Loader


def _records(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def test_the_figures_and_the_line() -> None:
    tally = WorkProgress("backup", "tables", 4, 40_000_000, started=100.0)
    assert tally.eta_s is None and tally.bytes_per_s is None  # nothing done: no made-up figure
    tally.advance(1, 10_000_000, rows=5_000, now=102.0)
    assert tally.line() == (
        "1 of 4 tables, 25% of 40.0 MB, 5.0 MB/s, 5,000 rows (2,500/s), about 6 s left"
    )
    fields = tally.fields()
    assert fields["event"] == "backup_progress"
    assert (fields["tables_done"], fields["tables_total"]) == (1, 4)
    assert (fields["bytes_done"], fields["bytes_total"]) == (10_000_000, 40_000_000)
    assert (fields["bytes_per_s"], fields["eta_s"], fields["done"]) == (5_000_000, 6.0, False)
    tally.advance(3, 30_000_000, now=108.0)
    assert tally.line().endswith("100% of 40.0 MB, 5.0 MB/s, 5,000 rows (625/s), done")
    assert tally.fields()["eta_s"] == 0.0


def test_a_backlog_gets_a_line_per_commit(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings.model_copy(update={"batch_max_files": 2})
    paths = [drop(s, "t", f"f{i}.csv", csv_rows(10, start=i * 10)) for i in range(5)]
    total = sum(p.stat().st_size for p in paths)
    caplog.set_level(logging.INFO)
    summary = Loader(s).load_pending()
    assert summary.rows == 50
    lines = _records(caplog, "backlog_progress")
    fields = [(r.files_done, r.files_total, r.rows) for r in lines]  # type: ignore[attr-defined]
    assert fields == [(2, 5, 20), (4, 5, 40), (5, 5, 50)]
    last = lines[-1]
    assert last.bytes_done == last.bytes_total == total  # type: ignore[attr-defined]
    assert last.eta_s == 0.0 and last.done is True  # type: ignore[attr-defined]
    assert lines[0].eta_s is not None and lines[0].eta_s >= 0  # type: ignore[attr-defined]
    assert "2 of 5 files, " in lines[0].getMessage() and "rows" in lines[0].getMessage()


def test_one_commit_is_no_backlog(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    drop(settings, "t", "a.csv", csv_rows(3))
    drop(settings, "t", "b.csv", csv_rows(3, start=3))
    caplog.set_level(logging.INFO)
    Loader(settings).load_pending()
    assert _records(caplog, "backlog_progress") == []


def _two_tables(settings: Settings) -> None:
    for table in ("a", "b"):
        for i in range(3):
            drop(settings, table, f"f{i}.csv", csv_rows(10, start=i * 10))
            Loader(settings).load_pending()  # one small file per commit


def test_maintain_shows_each_table_as_it_is_done(
    settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    _two_tables(settings)
    sizes = [table_bytes(settings, "bronze", t) for t in ("a", "b")]
    caplog.set_level(logging.INFO)
    assert run_maintain(settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Maintenance"
    assert out[1].startswith("  bronze/a") and "compacted 3 → 1 files" in out[1]
    assert out[2].strip().startswith(f"1 of 2 tables, {sizes[0] / sum(sizes):.0%} of ")
    assert "MB/s" in out[2] and "left" in out[2]
    assert out[3].startswith("  bronze/b")
    assert out[4].strip().startswith("2 of 2 tables, 100% of") and out[4].endswith("done")
    assert all(len(line) <= 80 for line in out)
    logged = _records(caplog, "maintain_progress")
    assert [(r.tables_done, r.bytes_done) for r in logged] == [  # type: ignore[attr-defined]
        (1, sizes[0]),
        (2, sum(sizes)),
    ]


def test_upkeep_lines_say_where_the_round_is(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings.model_copy(update={"upkeep_small_files": 2, "txn_retention_days": 0})
    _two_tables(s)
    caplog.set_level(logging.INFO)
    done = AutoUpkeep(s).run_due()
    assert [d.name for d in done] == ["a", "b"]
    lines = _records(caplog, "upkeep")
    assert [(r.tables_done, r.tables_total) for r in lines] == [(1, 2), (2, 2)]  # type: ignore[attr-defined]
    assert lines[-1].eta_s == 0.0  # type: ignore[attr-defined]
    assert "(1 of 2 tables" in lines[0].getMessage()


def test_backup_says_tables_bytes_rate_and_time_left(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _two_tables(settings)
    said: list[str] = []
    caplog.set_level(logging.INFO)
    manifest = backup(settings, tmp_path / "backup", progress=said.append)
    total = sum(t.bytes for t in manifest.tables)
    assert len(said) == 2
    assert said[0].startswith("bronze/a: version 2, 3 files") and "1 of 2 tables" in said[0]
    assert "2 of 2 tables, 100% of" in said[1] and "MB/s" in said[1]
    logged = _records(caplog, "backup_progress")
    assert [r.bytes_done for r in logged][-1] == total  # type: ignore[attr-defined]
    assert logged[-1].eta_s == 0.0  # type: ignore[attr-defined]
