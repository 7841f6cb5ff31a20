"""The ingest API (FastAPI): records and files into the landing zone, followed to gold.

What it offers (``__all__``, each imported on first use, so ``lakehouse token create`` stays
light):

- ``create_app(settings, host=...)``: the ASGI app (the factory holds no logic);
- ``serve(settings, host=..., port=...)``: uvicorn until Ctrl-C (``lakehouse api``);
- ``BackgroundServer(settings, port=0)``: the same in a thread (``lakehouse up``);
- ``create_token(...)``, ``TokenStore``, ``TokenError``: ``lakehouse token create``.

Modules: ``routers/`` (one per resource), ``auth`` (bearer tokens, scopes, tables, rate),
``bodies`` (media types, limits, gzip, file names), ``validation`` (records, vectorized; its
one-sided fast tests ``fastcontract`` and ``flatlines``), ``parsing`` (where bodies are checked:
the loop, a thread, worker processes), ``filecheck`` (files), ``landing`` (atomic landing +
ledger), ``idempotency``, ``limits`` (rate, back-pressure), ``metrics`` (Prometheus). Never
imports deltalake, duckdb or dbt: the catalog endpoints read Delta through ``lakehouse.catalog``.
"""

from typing import TYPE_CHECKING

from lakehouse._exports import lazy_exports

__all__ = ["BackgroundServer", "TokenError", "TokenStore", "create_app", "create_token", "serve"]

if TYPE_CHECKING:
    from ingest.app import create_app
    from ingest.server import BackgroundServer, serve
    from ingest.tokens import TokenError, TokenStore, create_token
else:  # imported on first use (lakehouse._exports)
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "ingest.app": ("create_app",),
            "ingest.server": ("BackgroundServer", "serve"),
            "ingest.tokens": ("TokenError", "TokenStore", "create_token"),
        },
    )
