"""Run by the peers' venv (bench/out/peers), never the product's: one dlt load into Delta.

    python dlt_load.py arrow  FILE.parquet DEST   # dlt's fastest path: Arrow batches → Delta
    python dlt_load.py dicts  FILE.ndjson  DEST   # its path for API-like records: dicts → Delta

dlt's ``filesystem`` destination, ``table_format="delta"``, into a fresh folder. Prints one JSON
line: wall and CPU seconds of ``pipeline.run`` (reading the file included, interpreter start and
imports not), and the rows in the Delta table it wrote.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    mode, source, dest = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    def arrow():
        yield from pq.ParquetFile(source).iter_batches(batch_size=122_880)

    def dicts():
        with source.open("rb") as f:
            batch = []
            for line in f:
                batch.append(json.loads(line))
                if len(batch) == 10_000:
                    yield batch
                    batch = []
            if batch:
                yield batch

    data = arrow() if mode == "arrow" else dicts()
    wall, used = time.perf_counter(), cpu()
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        destination=dlt.destinations.filesystem(bucket_url=dest.resolve().as_uri()),
        dataset_name="bronze",
        pipelines_dir=str(dest / "_pipelines"),
    )
    pipeline.run(dlt.resource(data, name="orders", table_format="delta"))
    wall, used = time.perf_counter() - wall, cpu() - used
    rows = DeltaTable(str(dest / "bronze" / "orders")).count()
    print(json.dumps({"wall_s": wall, "cpu_s": used, "rows": rows}))


if __name__ == "__main__":
    main()
