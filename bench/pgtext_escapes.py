"""PostgreSQL's text format dense in octal and hex escapes (``tsv_quoting: postgres``): CPU
seconds per MB of the two readings the API and the loader each make of such a file, the scan
(``pgtext.rows_problem`` over ``pgtext.chunks``) and the values (``pgtext.values`` of each
column of pyarrow's batches, as ``loader.readers`` and ``ingest.filecheck`` read them).

    uv run python -m bench.pgtext_escapes [--mb 4] [--tree DIR]

``--tree DIR``: read with that tree's ``lakehouse.pgtext`` (``git archive main | tar -x -C
DIR``), for a before/after on the same file. The file is generated the same every run (seed 0):
each value's UTF-8 bytes written as ``\\NNN`` or ``\\xHH`` escapes (what a writer escaping
every byte past ASCII sends; COPY itself writes none), with ``\\t``, ``\\n``, ``\\\\`` and plain
characters among them."""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from pathlib import Path


def dense_file(megabytes: float, seed: int = 0) -> bytes:
    """A text-format file (header ``id a b``) of about ``megabytes`` MB, escapes in most bytes."""
    rng = random.Random(seed)
    alphabet = "aé€😀\t\n\\x ü"
    lines = ["id\ta\tb\n"]
    size = len(lines[0])
    row = 0
    while size < megabytes * 1e6:
        fields = [str(row)]
        for _ in range(2):
            out = []
            for char in rng.choices(alphabet, k=rng.randint(2, 12)):
                way = rng.random()
                if char == "\t":
                    out.append("\\t")
                elif char == "\n":
                    out.append("\\n" if way < 0.5 else "\\012")
                elif char == "\\":
                    out.append("\\\\")
                elif char.isascii() and way < 0.3:
                    out.append(char)
                else:
                    for byte in char.encode():
                        out.append(f"\\{byte:03o}" if way < 0.6 else f"\\x{byte:02x}")
            fields.append("".join(out))
        line = "\t".join(fields) + "\n"
        lines.append(line)
        size += len(line)
        row += 1
    return "".join(lines).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=4.0)
    parser.add_argument("--tree", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.tree is not None:
        sys.path.insert(0, str(args.tree.resolve()))
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from lakehouse import pgtext

    data = dense_file(args.mb)
    megabytes = len(data) / 1e6

    def scan() -> None:
        text = io.StringIO(data.decode(), newline="")
        header = text.readline()
        end = pgtext.line_end(header)
        found = pgtext.rows_problem(pgtext.chunks(text), 2, header.rstrip("\n").split("\t"), end)
        assert found is None, found

    def read() -> None:
        reader = pacsv.open_csv(
            pa.py_buffer(data),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(["id", "a", "b"], pa.string()),
                null_values=[pgtext.NULL],
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            for column in batch.columns:
                pgtext.values(column)

    print(f"{megabytes:.2f} MB, lakehouse from {pgtext.__file__}")
    for name, run in (("scan", scan), ("values", read)):
        times = []
        for _ in range(args.repeat):
            start = time.process_time()
            run()
            times.append(time.process_time() - start)
        best = min(times)
        print(f"{name:7s} CPU {best:.3f} s (min of {args.repeat}), {best / megabytes:.3f} s/MB")


if __name__ == "__main__":
    main()
