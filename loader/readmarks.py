"""A file whose reading kills the loader's process is not read for ever.

A process that dies while reading a file (killed by the kernel out of memory, aborted by a
library's ``std::bad_alloc``, a segmentation fault) leaves the file in the landing zone: the
restarted loader would meet it first and die again, and no table would load any more (review
finding s14 revl 18: a 400 MiB JSON record aborted the loader at every start). Before a file is
read the loader writes a mark naming it (``<meta_dir>/reading/<table>.json``: the file's
path, size and modification time, bronze's version, and the deaths seen so far); once its
reading ends in any way the process lives through (loaded, quarantined, held, an error) the
mark goes. A mark still there when the loader next reads the same file means the process ended
while reading it: after :data:`READ_DEATHS` such ends in a row the file is quarantined
(``killed_loader``) unread, with that reason; fewer let it be read again (the death may have
been the machine's: a restart). A commit to bronze since the mark (a piece of a big file) is
progress: the deaths before it do not count (a big file whose loader is restarted between its
pieces resumes, however many times).

The mark is not synced to disk: it guards against the process's death, not the machine's (a
machine that stops loses the mark, and the file is read again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: The loader's process ended this many times in a row reading a file: it is quarantined unread
READ_DEATHS = 2


def killed_reason(deaths: int) -> str:
    """The quarantine reason of a file whose reading ended the loader ``deaths`` times."""
    return (
        f"the loader's process ended {deaths} times in a row while reading this file (killed,"
        " e.g. by the kernel out of memory, or aborted), so it is not read again;"
        " `lakehouse replay` sends it back once the cause is fixed"
    )


class ReadMarks:
    """The marks of the files being read, one per table (a table's files are read one at a
    time, by the one worker holding its lease), in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def begin(self, table: str, path: Path, version: int) -> int:
        """Mark ``path`` as being read for ``table`` at bronze's ``version``; the times in a
        row the process ended while reading it before (0 when the mark left is another file's,
        or none is, or bronze has moved since it was written: a piece committed)."""
        mark = self.folder / f"{table}.json"
        try:
            stat = path.stat()
        except OSError:
            return 0  # taken away: the reading says so
        me = {
            "path": str(path),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "version": version,
        }
        deaths = 0
        try:
            left = json.loads(mark.read_bytes())
            if {k: left.get(k) for k in me} == me:
                deaths = int(left.get("deaths", 0)) + 1
        except (OSError, ValueError):
            pass
        self.folder.mkdir(parents=True, exist_ok=True)
        part = mark.with_name(f".{mark.name}.part")
        part.write_text(json.dumps(me | {"deaths": deaths}))
        os.replace(part, mark)
        return deaths

    def end(self, table: str) -> None:
        """The reading of ``table``'s marked file ended with the process alive."""
        try:
            (self.folder / f"{table}.json").unlink()
        except FileNotFoundError:
            pass
