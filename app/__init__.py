"""The composers: the ``lakehouse`` command and what it runs together.

``main`` is the command (``app.cli``); ``run_up`` wires the API, the loader and the builder
(the loader's load events to ``Builder.submit``); ``run_load`` / ``run_loader`` the loader with
its builder; ``run_demo`` the sample shop through the real API. Nothing but ``bench/`` and the
tests imports this package; it imports every other.
"""

from typing import TYPE_CHECKING

from lakehouse._exports import lazy_exports

__all__ = [
    "TABLES",
    "SampleFile",
    "main",
    "render",
    "run_demo",
    "run_load",
    "run_loader",
    "run_replay",
    "run_up",
    "sample_files",
    "write_file",
    "write_files",
]

if TYPE_CHECKING:
    from app.cli import main
    from app.compose import run_demo, run_up
    from app.sample_data import TABLES, SampleFile, render, sample_files, write_file, write_files
    from app.service import run_load, run_loader, run_replay
else:  # imported on first use (lakehouse._exports)
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "app.cli": ("main",),
            "app.compose": ("run_demo", "run_up"),
            "app.sample_data": (
                "TABLES",
                "SampleFile",
                "render",
                "sample_files",
                "write_file",
                "write_files",
            ),
            "app.service": ("run_load", "run_loader", "run_replay"),
        },
    )
