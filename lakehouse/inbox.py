"""A landing zone on object storage (``LAKEHOUSE_LANDING_URL=s3://bucket/prefix``).

The API lands each batch as the object ``<prefix>/raw/<table>/<batch_id><ext>`` (written with
``If-None-Match: *``: a batch is never overwritten), and anyone else may put objects under
``raw/<table>/`` too. The loader takes them by listing with a persisted cursor
(``loader.inbox``) into its local landing zone, from where they load exactly once as any
dropped file does: the batch id comes from the object's name (or its content), and the Delta
watermark of that batch id decides, so an object taken twice (a lost cursor, two loader
machines) is loaded once.
"""

from __future__ import annotations

from pathlib import Path

from lakehouse.layout import check_table_name
from lakehouse.settings import Settings
from lakehouse.storage import ObjectUrl, store

RAW = "raw"


def raw_prefix(settings: Settings) -> ObjectUrl:
    url = settings.landing_store
    if url is None:
        raise ValueError("no object-store landing zone (LAKEHOUSE_LANDING_URL) is set")
    return url / RAW


def upload(settings: Settings, table: str, name: str, source: Path) -> str:
    """Land the finished local file ``source`` as ``raw/<table>/<name>``; its URL.

    One PUT (no multipart: a conditional create must be one request; S3 takes up to 5 GB), and
    only if no object has that name yet.
    """
    import obstore

    folder = raw_prefix(settings) / check_table_name(table)
    target = store(folder, settings.landing_options)
    obstore.put(target, name, source, mode="create", use_multipart=False)
    return str(folder / name)
