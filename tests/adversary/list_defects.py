"""Print the loader's current defects and disagreements, in the form the tests keep them.

    uv run python tests/adversary/list_defects.py

Runs the corpus and the agreement inputs through the real API and loader (a temporary
lakehouse) and prints ``LOADER_DEFECTS`` (test_corpus.py) and ``DISAGREEMENTS``
(test_agreement.py) as they stand: paste them over the old ones when the loader changes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import test_agreement
import test_corpus
from adversary_support import Table, expected, lakehouse, mismatches, run


def _literal(name: str, found: dict[str, str]) -> str:
    lines = [f"{name}: dict[str, str] = {{"]
    for key, why in found.items():
        lines.append(f"    {json.dumps(key, ensure_ascii=False)}: (")
        lines += [
            f"        {json.dumps(why[i : i + 70], ensure_ascii=False)}"
            for i in range(0, len(why), 70)
        ]
        lines.append("    ),")
    return "\n".join([*lines, "}"])


def loader_defects() -> dict[str, str]:
    found = run(lakehouse(Path(tempfile.mkdtemp())), test_corpus.inputs())
    out = {}
    for i, case_id in enumerate(test_corpus.IDS):
        o = found[f"c{i}"]
        verdict, _, kind = test_corpus.VERDICTS[i]
        want = expected(o.name, o.data)
        if verdict == "refuse":
            if o.refused is None:
                out[case_id] = (
                    f"loaded ({len(o.loaded_rows or [])} rows); the rule refuses it: {want}"
                )
            elif o.refused["kind"] != kind:
                got = f"{o.refused['kind']!r} ({o.refused['reason']})"
                out[case_id] = f"refused as {got}; the rule says {kind!r}"
            continue
        if o.refused is not None:
            out[case_id] = (
                f"quarantined as {o.refused['kind']!r} ({o.refused['reason']}); a valid file"
            )
            continue
        assert isinstance(want, Table)
        problems = mismatches(o.loaded_rows or [], want, o.name.endswith((".json", ".ndjson")))
        if problems:
            out[case_id] = "changed: " + problems[0]
    return {k: v[:200] for k, v in out.items()}


def disagreements() -> dict[str, str]:
    found = run(lakehouse(Path(tempfile.mkdtemp())), test_agreement.inputs())
    out = {}
    for i, (table, _, _) in enumerate(test_agreement.inputs()):
        o, case_id = found[table], test_agreement.IDS[i]
        if o.api_took:
            if not o.loader_took:
                assert o.refused is not None
                got = f"{o.refused['kind']}: {o.refused['reason']}"
                out[case_id] = f"the API takes it, the loader quarantines it as {got}"
        elif o.refused is None:
            said = f"{o.api_status}: {str(o.api_detail)[:90]}"
            out[case_id] = f"the API refuses it ({said}), the loader loads it"
        else:
            said = test_agreement.api_kind(o.api_status, o.api_detail)
            if said != o.refused["kind"]:
                got = f"{o.refused['kind']}: {o.refused['reason']}"
                out[case_id] = f"both refuse; the API says {said}, the loader {got}"
    return {k: v[:200] for k, v in out.items()}


if __name__ == "__main__":
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        del os.environ[key]
    sys.stdout.write(_literal("LOADER_DEFECTS", loader_defects()) + "\n\n")
    sys.stdout.write(_literal("DISAGREEMENTS", disagreements()) + "\n")
