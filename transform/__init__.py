"""The dbt runtime: bronze in, silver and gold Delta tables out.

:class:`DbtSession` is a warm dbt for one project and profile (one build: pin bronze, ``dbt
build``, publish what passed its tests); :class:`Builder` is the thread that turns load events
into coalesced builds; :func:`run_build` and :func:`run_docs` are ``lakehouse build|docs``;
:class:`Publisher` writes built models as Delta. ``transform.dbt_plugin`` is the dbt-duckdb
plugin that serves bronze to dbt; dbt loads it by that module path (``profiles.yml``). It
knows nothing of the loader or the API: it reads bronze Delta tables and consumes load events.
"""

from typing import TYPE_CHECKING

from lakehouse._exports import lazy_exports

__all__ = [
    "BuildRequest",
    "BuildResult",
    "Builder",
    "DbtSession",
    "ModelSpec",
    "PublishError",
    "Publisher",
    "RunLog",
    "annotate_docs",
    "docs_target",
    "generate_docs",
    "print_result",
    "publish_layer",
    "record_build",
    "retry_request",
    "run_build",
    "run_docs",
    "serve_docs",
]

if TYPE_CHECKING:
    from transform.builder import Builder, RunLog, record_build, retry_request
    from transform.commands import generate_docs, print_result, run_build, run_docs
    from transform.docs import annotate_docs, docs_target, serve_docs
    from transform.publish import ModelSpec, Publisher, PublishError, publish_layer
    from transform.session import BuildRequest, BuildResult, DbtSession
else:  # imported on first use (lakehouse._exports)
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "transform.builder": ("Builder", "RunLog", "record_build", "retry_request"),
            "transform.commands": ("generate_docs", "print_result", "run_build", "run_docs"),
            "transform.docs": ("annotate_docs", "docs_target", "serve_docs"),
            "transform.publish": ("ModelSpec", "PublishError", "Publisher", "publish_layer"),
            "transform.session": ("BuildRequest", "BuildResult", "DbtSession"),
        },
    )
