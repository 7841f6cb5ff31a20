"""The loader: landing zone → bronze Delta tables, exactly once.

:class:`Loader` watches (or scans once) the landing zone, reads and types each file, appends it
to its bronze table in one Delta commit with the file's watermark, quarantines what it cannot
load (with a true ``.error.json``), and emits a :class:`~lakehouse.events.LoadEvent` after
each commit to whoever listens (``on_event``). It knows nothing of dbt or of the API.
"""

from typing import TYPE_CHECKING

from lakehouse._exports import lazy_exports

__all__ = [
    "FileRejected",
    "LoadSummary",
    "Loader",
    "LoaderBusyError",
    "LoaderError",
    "Replayed",
    "replay",
]

if TYPE_CHECKING:
    from loader.exceptions import FileRejected, LoaderBusyError, LoaderError
    from loader.landing import Replayed, replay
    from loader.loading import Loader, LoadSummary
else:  # imported on first use (lakehouse._exports)
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "loader.exceptions": ("FileRejected", "LoaderBusyError", "LoaderError"),
            "loader.landing": ("Replayed", "replay"),
            "loader.loading": ("LoadSummary", "Loader"),
        },
    )
