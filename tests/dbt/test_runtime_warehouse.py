"""The warm builder's DuckDB file stays the size of what it holds, build after build."""

from __future__ import annotations

from pathlib import Path

from runtime_support import append_bronze, orders, project_settings, write_project

from transform.session import DbtSession

MODELS = {
    # rebuilt whole by every build (a table), with other content each time: the blocks of the
    # table it replaces must be reused, not piled up
    "models/marts/wide.sql": """
        with n as (select count(*) as n from {{ source('bronze', 'orders') }})
        select i, (hash(i, n.n) % 1000003)::bigint as h, md5((i + n.n)::varchar) as s
        from range(300000) t(i), n
    """,
}


def size(path: Path) -> int:
    wal = path.with_name(path.name + ".wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def test_the_duckdb_file_does_not_grow_with_every_build(tmp_path: Path) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    session = DbtSession(settings)
    warehouse = settings.dados / "warehouse.duckdb"
    sizes = []
    for n in range(4):
        append_bronze(settings, "orders", orders(n * 10 + 1, 10))
        result = session.build(["wide"])
        assert result.success, result.failures
        sizes.append(size(warehouse))
    assert sizes[-1] <= sizes[1] * 1.25, sizes
