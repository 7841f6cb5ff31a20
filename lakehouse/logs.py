"""Logging: stdlib ``logging`` rendered by rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import logging
import sys

from rich.logging import RichHandler


def configure_logging(level: int = logging.INFO) -> None:
    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(show_path=False, rich_tracebacks=True)
        fmt = "%(name)s: %(message)s"
    else:
        handler = logging.StreamHandler(sys.stderr)
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("watchdog", "urllib3", "botocore", "deltalake"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
