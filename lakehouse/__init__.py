"""The shared core: what every room of the lakehouse relies on, importing no other of them.

Settings; names and paths of tables and layers (``layout``); the run ledger; the load event the
loader emits and the builder consumes; the catalog (what the Delta logs say); table upkeep,
backup, status, logging and signals for the composers. Subjects with a vocabulary of their own
(``contracts``, ``dialect``, ``formats``, ``pgtext``) are used as modules:
``from lakehouse import dialect``.
"""

from typing import TYPE_CHECKING

from lakehouse._exports import lazy_exports

__all__ = [
    "LAYERS",
    "AutoUpkeep",
    "ConfigurationError",
    "InvalidNameError",
    "LakehouseError",
    "Layer",
    "Ledger",
    "LoadEvent",
    "LoadEventHandler",
    "Settings",
    "TableInfo",
    "check_table_name",
    "configure_logging",
    "get_settings",
    "list_table_infos",
    "list_tables",
    "maintain_all",
    "print_status",
    "run_backup",
    "run_maintain",
    "run_restore",
    "scan_table",
    "stop_on_signals",
    "table_info",
    "table_path",
]

if TYPE_CHECKING:
    from lakehouse.backup import run_backup, run_restore
    from lakehouse.catalog import TableInfo, list_table_infos, table_info
    from lakehouse.events import LoadEvent, LoadEventHandler
    from lakehouse.exceptions import ConfigurationError, InvalidNameError, LakehouseError
    from lakehouse.frames import scan_table
    from lakehouse.layout import LAYERS, Layer, check_table_name, list_tables, table_path
    from lakehouse.ledger import Ledger
    from lakehouse.logs import configure_logging
    from lakehouse.maintenance import AutoUpkeep, maintain_all, run_maintain
    from lakehouse.settings import Settings, get_settings
    from lakehouse.signals import stop_on_signals
    from lakehouse.status import print_status
else:  # imported on first use (lakehouse._exports)
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "lakehouse.backup": ("run_backup", "run_restore"),
            "lakehouse.catalog": ("TableInfo", "list_table_infos", "table_info"),
            "lakehouse.events": ("LoadEvent", "LoadEventHandler"),
            "lakehouse.exceptions": ("ConfigurationError", "InvalidNameError", "LakehouseError"),
            "lakehouse.frames": ("scan_table",),
            "lakehouse.layout": (
                "LAYERS",
                "Layer",
                "check_table_name",
                "list_tables",
                "table_path",
            ),
            "lakehouse.ledger": ("Ledger",),
            "lakehouse.logs": ("configure_logging",),
            "lakehouse.maintenance": ("AutoUpkeep", "maintain_all", "run_maintain"),
            "lakehouse.settings": ("Settings", "get_settings"),
            "lakehouse.signals": ("stop_on_signals",),
            "lakehouse.status": ("print_status",),
        },
    )
