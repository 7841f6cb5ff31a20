"""The ingest API (FastAPI): records and files into the landing zone, followed to gold.

Entry points (imported lazily by ``lakehouse``, so ``lakehouse token create`` stays light):

- ``ingest.app.create_app(settings, host=...)``: the ASGI app (the factory holds no logic);
- ``ingest.server.serve(settings, host=..., port=...)``: uvicorn until Ctrl-C (``lakehouse api``);
- ``ingest.server.BackgroundServer(settings, port=0)``: the same in a thread (``lakehouse up``);
- ``ingest.tokens.create_token(...)``: ``lakehouse token create``.

Modules: ``routers/`` (one per resource), ``auth`` (bearer tokens, scopes, tables, rate),
``bodies`` (media types, limits, gzip, file names), ``validation`` (records, vectorized),
``filecheck`` (files), ``landing`` (atomic landing + ledger), ``idempotency``, ``limits``
(rate, back-pressure), ``metrics`` (Prometheus). Never imports deltalake, duckdb or dbt: the
catalog endpoints read Delta through ``lakehouse.catalog``.
"""
