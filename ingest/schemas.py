"""Response bodies of the v1 API (documented in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from lakehouse.layout import BATCH_ID, TABLE_NAME

TABLE_PATTERN = TABLE_NAME.pattern
BATCH_PATTERN = BATCH_ID.pattern


class Accepted(BaseModel):
    batch_id: str = Field(pattern=BATCH_PATTERN, examples=["bat_0123456789abcdef0123456789abcdef"])
    table: str
    status_url: str = Field(description="GET it (with ?wait=seconds) to follow the batch.")
    records: int | None = Field(description="Records (rows) in the batch.")
    bytes: int = Field(description="Bytes landed.")
    file: str = Field(description="The landed file's name in raw/<table>/.")


class BatchOut(BaseModel):
    batch_id: str
    table: str
    state: str = Field(description="accepted, loaded, published, quarantined or failed")
    source_file: str | None
    records: int | None
    bytes: int | None
    bronze_version: int | None
    build_id: int | None
    error: dict[str, Any] | None
    created_at: str
    updated_at: str
    loaded_at: str | None
    published_at: str | None
    rescued: int | None = Field(
        default=None,
        description="Values that did not fit their column's type, kept in the rows' "
        "_rescued_data column (docs/loading.md).",
    )
    status_url: str


class ColumnOut(BaseModel):
    name: str
    type: str
    nullable: bool


class TableOut(BaseModel):
    layer: str
    name: str
    location: str
    version: int
    rows: int
    files: int
    updated_at: str | None


_UNREADABLE = (
    "dbt YAML files that may declare contracts and do not parse (each with the parser's words):"
    " while one is listed, every table's writes are refused (503) and its files held."
)


class TableDetail(TableOut):
    columns: list[ColumnOut]
    history: list[dict[str, Any]]
    contract: dict[str, Any] | None = None
    unreadable_contracts: list[str] = Field(default_factory=list, description=_UNREADABLE)


class TableList(BaseModel):
    tables: list[TableOut]
    declared: list[dict[str, Any]] = Field(
        description="Contracts of bronze tables (from the dbt bronze sources), loaded or not."
    )
    unreadable_contracts: list[str] = Field(default_factory=list, description=_UNREADABLE)


class RowsOut(BaseModel):
    layer: str
    name: str
    version: int
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]


class Problem(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text}
    for code, text in {
        400: "Malformed body or name",
        401: "Missing or unknown bearer token",
        403: "The token may not do this",
        404: "Not found",
        409: "Idempotency-Key reused with another body, or still in progress",
        411: "A multipart upload without Content-Length",
        413: "Body, file or record count above the limit",
        415: "Unsupported media type or encoding",
        422: "Invalid records: each error names the row and field",
        429: "Too many requests for this token (Retry-After)",
        503: "Back-pressure: disk nearly full or the loader far behind (Retry-After)",
    }.items()
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: ERRORS[code] for code in codes}
