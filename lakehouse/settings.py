"""All settings in one place: one pydantic-settings class, read from ``LAKEHOUSE_*`` variables.

Every path is movable. Relative paths resolve against ``root`` (default: the current directory),
so a fresh clone works with no configuration at all. Settings that would be unsafe in production
(no API token, for instance) are refused at start-up unless ``mode`` is ``development``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.db import is_database_url
from lakehouse.dialect import MismatchPolicy
from lakehouse.exceptions import ConfigurationError
from lakehouse.storage import Location, ObjectUrl, StorageError, delta_options, parse_location


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_", env_file=".env", extra="ignore", arbitrary_types_allowed=True
    )

    mode: Literal["development", "production"] = "development"
    root: Path = Field(default_factory=Path.cwd, description="Base for every relative path below.")

    # Folders (docs/folders.md).
    landing_zone: Path = Path("landing_zone")
    dados: Location = Field(
        default=Path("dados"),
        description="Where the Delta tables live: a folder, or s3://bucket/prefix "
        "(lakehouse.storage, docs/storage.md).",
    )
    state_dir: Path | None = Field(
        default=None,
        description="Private local state (ledger, tokens, locks, heartbeat, warehouse.duckdb); "
        "default dados/_lakehouse (and dados/warehouse.duckdb) for a local dados, "
        "./lakehouse_state when dados is a URL.",
    )
    landing_url: str | None = Field(
        default=None,
        description="A landing zone on object storage (s3://bucket/prefix): the API lands "
        "objects there and the loader takes them by listing with a persisted cursor "
        "(lakehouse.inbox, docs/storage.md); the local landing_zone stays the loader's inbox.",
    )
    landing_poll_s: float = Field(
        default=2.0, gt=0, description="How often the loader lists the object landing zone."
    )
    dbt_project_dir: Path = Path("dbt_project")
    profiles_dir: Path = Path(".")
    dbt_target: str = "dev"
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL (postgresql://user:password@host/db) for the run ledger, API "
        "tokens, idempotency keys and loader leases, shared by machines; unset: SQLite files "
        "in the state folder (docs/scaling.md).",
    )
    ledger_path: Path | None = Field(
        default=None, description="SQLite run ledger; default dados/_lakehouse/ledger.sqlite."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines: readable text, or one JSON object per line (containers).",
    )
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="delta-rs storage options for an object-store dados (JSON; AWS_* keys); "
        "conditional put is added for S3 (docs/storage.md).",
    )

    # Loader: watching.
    force_polling: bool = Field(
        default=False, description="Poll instead of inotify (Docker volumes, network disks)."
    )
    poll_interval_s: float = 0.5

    # DuckDB (docs/operations.md, Memory): every database the lakehouse opens.
    duckdb_memory_limit: str = Field(
        default="25%",
        pattern=r"^\s*[0-9]+(\.[0-9]+)?\s*(%|[KMGT]i?B|B|bytes)?\s*$",
        description="How much memory each DuckDB database (the loader's, the dbt builder's, "
        "lakehouse status's latencies) may use before it spills to duckdb_temp_dir: a size "
        "('4GiB') or a share of the machine's memory ('25%'; lakehouse up runs the loader and "
        "the builder in one process: half the memory, the rest for Python, Arrow, delta-rs).",
    )
    duckdb_temp_dir: Path | None = Field(
        default=None,
        description="Where DuckDB spills what does not fit in duckdb_memory_limit (one folder "
        "per database inside it, removed when it closes); default <state_dir>/duckdb_temp.",
    )

    # Loader: batching and reading.
    batch_max_files: int = Field(default=500, ge=1, description="Files committed together.")
    batch_max_bytes: int = Field(default=256 * 1024**2, ge=1, description="Bytes per commit.")
    batch_window_ms: int = Field(
        default=50, ge=0, description="How long to wait for more files before committing."
    )
    chunk_rows: int = Field(default=1_000_000, ge=1, description="Rows per commit of a big file.")
    read_batch_rows: int = Field(default=122_880, ge=1024, description="Rows per Arrow batch.")
    dedup_by_content: bool = Field(
        default=True, description="The same content under another name is loaded only once."
    )
    # Gzip (API bodies and files, loader files): past either bound, 413 or quarantine, and the
    # rest is not inflated (lakehouse.formats.Inflater).
    max_inflated_bytes: int = Field(
        default=16 * 1024**3, ge=1, description="Largest inflated size of one gzip body or file."
    )
    max_inflate_ratio: float = Field(
        default=250.0,
        gt=1,
        description="Largest inflated/compressed ratio of gzip data (checked past 16 MiB).",
    )
    # One JSON record (an NDJSON line, a .json's element or object): past it, 413 or
    # too_large (lakehouse.jsonrecords); DuckDB's reader needs ~20x a record's size
    max_json_record_bytes: int = Field(
        default=32 * 1024**2,
        ge=1,
        description="Largest JSON record (NDJSON line, .json element or object), in bytes.",
    )
    # One CSV or TSV record: past it, 413 or too_large (lakehouse.dialect.BoundedLines); its
    # readers hold it several times over (a 100 MB record: the API 600 MiB, the loader 1.5 GiB)
    max_csv_record_bytes: int = Field(
        default=16 * 1024**2,
        ge=1,
        description="Largest CSV or TSV record, in bytes (its last line end not counted).",
    )
    # The landing dialect (lakehouse.dialect, docs/loading.md); a table's contract may override
    # both in its ``meta``.
    infer_types: bool = Field(
        default=True,
        description="Type undeclared CSV/JSON columns by the lossless rule (off: text).",
    )
    on_mismatch: MismatchPolicy = Field(
        default="rescue",
        description="A value that does not fit its column: 'rescue' it into _rescued_data, or "
        "'quarantine' the file.",
    )
    loader_lease_s: float = Field(
        default=0.0,
        ge=0,
        description="> 0: several loader workers share the tables out by a lease of this many "
        "seconds per table (loader.leases); 0: one loader at a time (a lock file).",
    )
    loaded_files: Literal["archive", "delete"] = "archive"
    archive_retention_days: float = Field(default=7.0, ge=0)

    # Upkeep: run by the loader between builds when a threshold is passed (lakehouse.maintenance).
    upkeep: bool = Field(
        default=True, description="The loader compacts, checkpoints and vacuums by itself."
    )
    upkeep_interval_s: float = Field(
        default=60.0, gt=0, description="How often an idle builder checks the thresholds."
    )
    history_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="How often a running loader publishes the pipeline's history (dados/ops) "
        "and builds the models that read it, once a build has finished (0: when idle).",
    )
    upkeep_small_file_bytes: int = Field(
        default=16 * 1024**2, ge=1, description="A data file smaller than this is small."
    )
    upkeep_small_files: int = Field(
        default=32, ge=2, description="Small files in a table that trigger a compaction."
    )
    upkeep_checkpoint_commits: int = Field(
        default=50, ge=1, description="Commits since the last checkpoint that trigger one."
    )
    vacuum_retention_hours: float = Field(
        default=168.0,
        ge=1.0,
        description="Files a table stopped using are deleted after this long (readers of a "
        "version younger than this never lose a file).",
    )
    vacuum_every_hours: float = Field(
        default=24.0, gt=0, description="Vacuum each table this often."
    )
    publish_parquet_version: Literal["v1", "auto", "v2"] = Field(
        default="v1",
        description="Parquet format of the files a local rewrite of a silver or gold table writes "
        "(DuckDB's COPY). v1 (default): plain and dictionary encodings, every Parquet reader. "
        "v2: v2 data pages and the delta encodings (integers, dates, timestamps, decimals, "
        "strings) and byte-stream-split (floats): at 10M rows a third cheaper write and a "
        "quarter fewer bytes, but deltalake 1.6's DataFusion queries fail on them when a "
        "filter skips rows inside a page, Spark's default (vectorized) reader refuses "
        "byte-stream-split floats before 4.3 (3.5, 4.0), misreads strings without an error in "
        "3.4 and refuses them in 3.3. auto: v2 for a model without a FLOAT or DOUBLE column at "
        "any depth, else v1 (docs/dbt.md, 'Parquet files').",
    )

    published_versions_kept: int = Field(
        default=10,
        ge=1,
        description="Silver and gold tables (rewritten by every build that changes them) keep "
        "the files of their last this many versions; files only older versions used are "
        "vacuumed once this many versions came since the last vacuum, so disk stays bounded "
        "under a steady stream of batches.",
    )
    published_retention_minutes: float = Field(
        default=5.0,
        ge=0,
        description="...and of every version that was the current one less than this long ago "
        "(a reader in the middle of it keeps its files).",
    )
    txn_retention_days: float = Field(
        default=30.0,
        ge=0,
        description="Exactly-once watermarks of loaded files are forgotten after this long "
        "(0: never); the same content dropped again later loads again.",
    )

    # Builder (transform.builder, docs/dbt.md "When builds run").
    build_settle_ms: int = Field(
        default=250,
        ge=0,
        description="Quiet time after a bronze commit before a build starts while more may be "
        "coming (a file in the landing zone, a write in progress): commits that arrive together "
        "(files of related tables) build together. With build_settle_early, a build starts "
        "sooner when nothing can be coming.",
    )
    build_settle_early: bool = Field(
        default=True,
        description="Start a build as soon as the loader holds no file and the landing zone "
        "holds nothing to load nor a write in progress (a temporary file), instead of waiting "
        "out build_settle_ms (off: files of related tables that land apart, with a pause "
        "between them, still build together; with it they build one after the other, and a "
        "build that failed for want of the later file converges on its retry).",
    )
    build_settle_max_ms: int = Field(
        default=5000,
        ge=0,
        description="Longest a build waits for quiet once a commit is pending (a steady stream "
        "of commits still gets built).",
    )

    # Pipeline metrics (Prometheus), served by the process that runs the loader.
    loader_metrics_host: str = Field(
        default="127.0.0.1", description="Address of the loader's /metrics (0.0.0.0: a container)."
    )
    loader_metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Port of the loader's /metrics (0: not served)."
    )

    # API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    tokens_path: Path | None = Field(
        default=None, description="Hashed API tokens; default dados/_lakehouse/tokens.json."
    )
    api_max_body_bytes: int = Field(
        default=16 * 1024**2, ge=1, description="Largest records body (after gunzip); 413 above."
    )
    api_max_file_bytes: int = Field(
        default=1024**3, ge=1, description="Largest uploaded file (as sent); 413 above."
    )
    api_max_records: int = Field(default=100_000, ge=1, description="Records per request.")
    api_max_errors: int = Field(default=20, ge=1, description="Errors listed in a 422.")
    api_parse_processes: int = Field(
        default=0,
        ge=0,
        description="Worker processes that check records bodies of 256 KiB or more off the "
        "event loop (0: every body on the loop; pays only with idle cores, see docs/api.md).",
    )
    api_parquet_processes: int = Field(
        default=2,
        ge=1,
        description="Worker processes that check uploaded Parquet files, never the server's own "
        "(a file that makes Arrow C++ abort ends a worker, not the API; see docs/api.md).",
    )
    api_rate_per_token: float = Field(
        default=100.0, ge=0, description="Requests per second per token (0: no limit); 429."
    )
    api_rate_burst: int = Field(default=200, ge=1, description="Requests a token may burst.")
    api_min_free_bytes: int = Field(
        default=512 * 1024**2, ge=0, description="Free disk the landing zone keeps; 503 below."
    )
    api_max_pending_files: int = Field(
        default=20_000, ge=1, description="Loader backlog (files) above which writes get 503."
    )
    api_max_pending_bytes: int = Field(
        default=16 * 1024**3, ge=1, description="Loader backlog (bytes) above which writes get 503."
    )
    api_loader_stale_s: float = Field(
        default=30.0, gt=0, description="A loader heartbeat older than this is not alive."
    )
    api_ready_requires_loader: bool = Field(
        default=True, description="/ready answers 503 while no loader heartbeat is fresh."
    )
    api_header_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest a request's headers may take to arrive; 408."
    )
    api_body_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest wait for the next piece of a request body; 408."
    )
    api_wrong_tokens_burst: int = Field(
        default=10, ge=1, description="Wrong tokens one address may send before it is slowed."
    )
    api_wrong_tokens_per_minute: float = Field(
        default=6.0,
        gt=0,
        description="Wrong tokens a slowed address may send per minute; above: 429 + Retry-After.",
    )
    api_refuse_undeclared: bool = Field(
        default=False, description="Refuse tables without a contract in the bronze sources."
    )
    api_max_wait_s: float = Field(
        default=30.0, ge=0, description="Longest ?wait= on GET /v1/batches/{id}."
    )
    api_idempotency_ttl_s: float = Field(
        default=24 * 3600.0, gt=0, description="How long an Idempotency-Key is remembered."
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_database_url(value.get_secret_value()):
            raise ValueError("database_url must be a postgresql:// (or postgres://) URL")
        return value

    @field_validator("landing_url")
    @classmethod
    def _check_landing_url(cls, value: str | None) -> str | None:
        if value is not None and not isinstance(parse_location(value, Path()), ObjectUrl):
            raise ValueError("landing_url is an object-store URL (s3://bucket/prefix)")
        return value

    @field_validator("dados", mode="before")
    @classmethod
    def _parse_dados(cls, value: object) -> object:
        if isinstance(value, str):  # a URL, or a folder resolved against root below
            return parse_location(value, Path())
        return value

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        root = self.root.expanduser().resolve()
        self.root = root
        for name in ("landing_zone", "dbt_project_dir", "profiles_dir"):
            value: Path = getattr(self, name)
            if not value.is_absolute():
                setattr(self, name, root / value)
        self.dados = parse_location(self.dados, root)
        if self.state_dir is None:
            dados = self.dados
            self.state_dir = (
                dados / "_lakehouse" if isinstance(dados, Path) else root / "lakehouse_state"
            )
        elif not self.state_dir.is_absolute():
            self.state_dir = root / self.state_dir
        self.storage_options = delta_options(
            self.dados, self.storage_options, production=self.mode == "production"
        )
        if self.duckdb_temp_dir is None:
            self.duckdb_temp_dir = self.meta_dir / "duckdb_temp"
        elif not self.duckdb_temp_dir.is_absolute():
            self.duckdb_temp_dir = root / self.duckdb_temp_dir
        if self.ledger_path is None:
            self.ledger_path = self.meta_dir / "ledger.sqlite"
        elif not self.ledger_path.is_absolute():
            self.ledger_path = root / self.ledger_path
        if self.tokens_path is None:
            self.tokens_path = self.meta_dir / "tokens.json"
        elif not self.tokens_path.is_absolute():
            self.tokens_path = root / self.tokens_path
        return self

    # Derived folders.
    @property
    def raw_dir(self) -> Path:
        return self.landing_zone / "data" / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.landing_zone / "data" / "quarantine"

    @property
    def archive_dir(self) -> Path:
        return self.landing_zone / "data" / "archive"

    @property
    def meta_dir(self) -> Path:
        """Private local state (ledger, tokens, locks): ``state_dir``, by default beside the
        tables (``dados/_lakehouse``) or, for tables on an object store, ``./lakehouse_state``."""
        assert self.state_dir is not None  # set by the validator
        return self.state_dir

    @property
    def landing_store(self) -> ObjectUrl | None:
        """The object-store landing zone, when there is one."""
        if self.landing_url is None:
            return None
        url = parse_location(self.landing_url, self.root)
        assert isinstance(url, ObjectUrl)  # checked by the validator
        return url

    @property
    def landing_options(self) -> dict[str, str]:
        """Storage options for the landing bucket (conditional put: a batch never overwritten)."""
        url = self.landing_store
        return delta_options(url, self.storage_options) if url is not None else {}

    @property
    def dados_is_local(self) -> bool:
        return isinstance(self.dados, Path)

    @property
    def local_dados(self) -> Path:
        """``dados`` as a local folder; an error naming the URL when the tables are remote."""
        if isinstance(self.dados, ObjectUrl):
            raise StorageError(f"this needs a local dados folder; dados is {self.dados}")
        return self.dados

    @property
    def warehouse_path(self) -> Path:
        """dbt's DuckDB file: always local (``dados/`` or, for remote tables, ``state_dir``)."""
        if isinstance(self.dados, Path):
            return self.dados / "warehouse.duckdb"
        return self.meta_dir / "warehouse.duckdb"

    @property
    def database_target(self) -> str | None:
        """The PostgreSQL URL of the shared stores, or None (SQLite files)."""
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def ledger_file(self) -> Path:
        assert self.ledger_path is not None  # set by the validator
        return self.ledger_path

    @property
    def tokens_file(self) -> Path:
        assert self.tokens_path is not None  # set by the validator
        return self.tokens_path


def settings_error(exc: ValidationError) -> str:
    """A refused setting as one line per variable: its name, its value and what it accepts."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if not field:  # a check of the whole (it names its variable itself)
            lines.append(message)
            continue
        lines.append(f"LAKEHOUSE_{field.upper()}={err.get('input')!r}: {message}")
    return "\n".join(lines)


def require_root(settings: Settings) -> Settings:
    """``settings`` if its root is a folder, else a ConfigurationError naming LAKEHOUSE_ROOT.

    The command checks it (a mistyped variable must not start a lakehouse somewhere new);
    code that builds Settings itself may create its root afterwards.
    """
    if not settings.root.is_dir():
        raise ConfigurationError(f"LAKEHOUSE_ROOT={settings.root}: no such folder")
    return settings


def require_dbt_project(settings: Settings) -> Path:
    """The dbt project's folder, or a ConfigurationError naming the setting to fix."""
    project = settings.dbt_project_dir / "dbt_project.yml"
    if not project.is_file():
        raise ConfigurationError(
            f"no dbt project at {settings.dbt_project_dir} (no dbt_project.yml): set "
            "LAKEHOUSE_DBT_PROJECT_DIR, or LAKEHOUSE_ROOT to the folder that holds dbt_project/"
        )
    return settings.dbt_project_dir


@lru_cache
def get_settings() -> Settings:
    return Settings()
