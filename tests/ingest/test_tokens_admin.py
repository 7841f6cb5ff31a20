"""``lakehouse token list`` and ``lakehouse token revoke``: a revoked token is refused by a
running API from its next request on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.tokens import create_token
from lakehouse.settings import Settings

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ROOT"] = str(settings.root)
    return subprocess.run(
        [LAKEHOUSE, "token", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_list_shows_tokens_without_secrets_and_revoke_ends_one(api_settings: Settings) -> None:
    keep = create_token(api_settings, scopes=["read"], tables=[], name="dashboards")
    gone = create_token(api_settings, scopes=["read"], tables=["orders"], name="old laptop")
    gone_id = gone.split("_")[1]
    with TestClient(create_app(api_settings)) as client:
        for token in (keep, gone):
            assert client.get("/v1/tables", headers={"authorization": f"Bearer {token}"}).is_success

        listed = _cli(api_settings, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert {r["name"] for r in rows} == {"dashboards", "old laptop"}
        assert all("hash" not in r for r in rows)
        assert gone not in listed.stdout and keep not in listed.stdout
        text = _cli(api_settings, "list").stdout
        assert gone_id in text and "old laptop" in text and "orders" in text

        revoked = _cli(api_settings, "revoke", gone_id)
        assert revoked.returncode == 0, revoked.stderr
        assert f"revoked {gone_id}" in revoked.stdout
        refused = client.get("/v1/tables", headers={"authorization": f"Bearer {gone}"})
        assert refused.status_code == 401
        assert client.get("/v1/tables", headers={"authorization": f"Bearer {keep}"}).is_success

    again = _cli(api_settings, "revoke", gone_id)
    assert again.returncode == 1 and "no token with id" in again.stderr
    assert [r["name"] for r in json.loads(_cli(api_settings, "list", "--json").stdout)] == [
        "dashboards"
    ]
