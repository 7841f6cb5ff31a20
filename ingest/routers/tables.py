"""The catalog: ``GET /v1/tables``, one table, and a preview of its rows (time travel).

Read from the Delta logs through ``lakehouse.catalog``, never from the DuckDB warehouse file.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from ingest.auth import PrincipalDep, require
from ingest.deps import ContextDep
from ingest.schemas import TABLE_PATTERN, RowsOut, TableDetail, TableList, errors
from lakehouse.catalog import (
    TableNotFoundError,
    list_table_infos,
    open_table,
    read_rows,
    table_history,
    table_info,
    table_schema,
)
from lakehouse.layout import Layer, table_exists

router = APIRouter(prefix="/v1/tables", tags=["catalog"], dependencies=[Depends(require("read"))])

LayerPath = Annotated[Layer, Path(description="bronze, silver or gold")]
NamePath = Annotated[str, Path(pattern=TABLE_PATTERN)]


def _exists(context: ContextDep, layer: Layer, name: str) -> None:
    if not table_exists(context.settings, layer, name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {layer} table {name!r}")


@router.get("", response_model=TableList, responses=errors(401, 403, 429))
def list_tables(context: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    infos = list_table_infos(context.settings)
    contracts = context.contracts.read()
    return {
        "tables": [i.as_dict() for i in infos if principal.allows("read", i.name)],
        "declared": [
            c.as_dict()
            for name, c in sorted(contracts.tables.items())
            if principal.allows("read", name)
        ],
        "unreadable_contracts": [str(u) for u in contracts.unreadable],
    }


@router.get(
    "/{layer}/{name}", response_model=TableDetail, responses=errors(401, 403, 404, 422, 429)
)
def get_table(
    layer: LayerPath,
    name: NamePath,
    context: ContextDep,
    principal: PrincipalDep,
    history: Annotated[int, Query(ge=0, le=100, description="Recent commits to list.")] = 10,
) -> dict[str, Any]:
    principal.check("read", name)
    _exists(context, layer, name)
    table = open_table(context.settings, layer, name)
    contracts = context.contracts.read()
    contract = contracts.tables.get(name) if layer == "bronze" else None
    return table_info(context.settings, layer, name).as_dict() | {
        "columns": table_schema(table),
        "history": table_history(table, history),
        "contract": contract.as_dict() if contract else None,
        # while one does not parse, ``contract`` may not be the table's (docs/api.md)
        "unreadable_contracts": [str(u) for u in contracts.unreadable],
    }


@router.get(
    "/{layer}/{name}/rows", response_model=RowsOut, responses=errors(401, 403, 404, 422, 429)
)
def get_rows(
    layer: LayerPath,
    name: NamePath,
    context: ContextDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    version: Annotated[int | None, Query(ge=0, description="An earlier version.")] = None,
) -> dict[str, Any]:
    principal.check("read", name)
    try:
        found = read_rows(context.settings, layer, name, limit=limit, version=version)
    except TableNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return {"layer": layer, "name": name} | found
