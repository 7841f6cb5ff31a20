"""Bearer tokens, scopes, tables, the dev-mode rule, production refusal, the rate limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_support import make_settings, order
from fastapi.testclient import TestClient

from ingest import create_app
from ingest.tokens import TokenError, TokenStore, create_token, hash_token
from lakehouse import ConfigurationError, Settings

RECORDS = "/v1/tables/orders/records"


def test_missing_or_wrong_token_is_401_with_challenge(
    client: TestClient, tokens: dict[str, str]
) -> None:
    for headers in (
        {},
        {"authorization": "Bearer nope"},
        {"authorization": "Basic abc"},
        {"authorization": "Bearer "},
    ):
        r = client.post(RECORDS, json=[order(1)], headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["detail"]
    r = client.get("/v1/tables", headers={"authorization": tokens["read"] + "x"})
    assert r.status_code == 401


def test_scopes(client: TestClient, tokens: dict[str, str]) -> None:
    def post(token: str) -> int:
        return client.post(
            RECORDS, json=[order(1)], headers={"authorization": tokens[token]}
        ).status_code

    def read(token: str) -> int:
        return client.get("/v1/tables", headers={"authorization": tokens[token]}).status_code

    assert post("write") == 202
    assert post("read") == 403
    assert post("admin") == 202
    assert read("read") == 200
    assert read("write") == 403
    assert read("admin") == 200


def test_table_limited_token(client: TestClient, tokens: dict[str, str]) -> None:
    auth = {"authorization": tokens["orders"]}
    ok = client.post(RECORDS, json=[order(1)], headers=auth)
    assert ok.status_code == 202
    assert (
        client.post(
            "/v1/tables/customers/records", json=[{"customer_id": 1}], headers=auth
        ).status_code
        == 403
    )
    # another table's batch is not visible to it (404, so ids cannot be probed)
    other = client.post(
        "/v1/tables/customers/records",
        json=[{"customer_id": 1}],
        headers={"authorization": tokens["write"]},
    )
    assert client.get(other.json()["status_url"], headers=auth).status_code == 404
    assert client.get(ok.json()["status_url"], headers=auth).status_code == 200
    declared = client.get("/v1/tables", headers=auth).json()["declared"]
    assert [d["table"] for d in declared] == ["orders"]


def test_tokens_are_stored_hashed(api_settings: Settings, tokens: dict[str, str]) -> None:
    stored = api_settings.tokens_file.read_text()
    for header in tokens.values():
        token = header.removeprefix("Bearer ")
        assert token not in stored
        assert hash_token(token) in stored
    assert os.stat(api_settings.tokens_file).st_mode & 0o077 == 0
    described = TokenStore(api_settings.tokens_file).describe()
    assert all("hash" not in t for t in described) and len(described) == 4


def test_bad_token_requests(api_settings: Settings) -> None:
    with pytest.raises(TokenError):
        create_token(api_settings, scopes=["root"], tables=[], name="x")
    with pytest.raises(TokenError):
        create_token(api_settings, scopes=[], tables=[], name="x")
    with pytest.raises(TokenError):
        create_token(api_settings, scopes=["read"], tables=["../etc"], name="x")


def test_anonymous_ends_when_a_token_is_issued(client: TestClient, api_settings: Settings) -> None:
    assert client.post(RECORDS, json=[order(1)]).status_code == 202  # dev, loopback, no tokens
    create_token(api_settings, scopes=["read"], tables=[], name="first")
    r = client.post(RECORDS, json=[order(1)])
    assert r.status_code == 401


def test_dev_mode_on_a_public_address_is_not_anonymous(api_settings: Settings) -> None:
    with TestClient(create_app(api_settings, host="0.0.0.0")) as c:
        assert c.post(RECORDS, json=[order(1)]).status_code == 401
        assert c.get("/health").status_code == 200


def test_production_without_tokens_refuses_to_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mode="production")
    with pytest.raises(ConfigurationError, match="token create"):
        create_app(settings)
    token = create_token(settings, scopes=["write"], tables=[], name="x")
    with TestClient(create_app(settings)) as c:  # production on loopback: still needs the token
        assert c.post(RECORDS, json=[order(1)]).status_code == 401
        assert (
            c.post(
                RECORDS, json=[order(1)], headers={"authorization": f"Bearer {token}"}
            ).status_code
            == 202
        )


def test_rate_limit_per_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_rate_per_token=0.01, api_rate_burst=3)
    a = create_token(settings, scopes=["read"], tables=[], name="a")
    b = create_token(settings, scopes=["read"], tables=[], name="b")
    with TestClient(create_app(settings)) as c:
        codes = [
            c.get("/v1/tables", headers={"authorization": f"Bearer {a}"}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        r = c.get("/v1/tables", headers={"authorization": f"Bearer {a}"})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        # another token has its own bucket
        assert c.get("/v1/tables", headers={"authorization": f"Bearer {b}"}).status_code == 200
        # health is never limited
        assert all(c.get("/health").status_code == 200 for _ in range(10))


def test_cli_token_create(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ROOT"] = str(tmp_path)
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "lakehouse"),
            "token",
            "create",
            "--scope",
            "write",
            "--scope",
            "read",
            "--table",
            "orders",
            "--name",
            "ci",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("lh_") and len(token) > 40
    stored = json.loads(Path(tmp_path, "dados", "_lakehouse", "tokens.json").read_text())["tokens"]
    assert stored[0]["hash"] == hash_token(token)
    assert stored[0]["scopes"] == ["read", "write"] and stored[0]["tables"] == ["orders"]
    assert stored[0]["name"] == "ci"


def test_token_bucket_refills() -> None:
    from ingest.limits import RateLimiter, retry_after

    bucket = RateLimiter(rate=2.0, burst=2)
    assert bucket.hit("k", now=0.0) == 0 and bucket.hit("k", now=0.0) == 0
    wait = bucket.hit("k", now=0.0)
    assert wait == 0.5 and retry_after(wait) == "1"
    assert bucket.hit("k", now=0.6) == 0  # refilled by then
    assert RateLimiter(rate=0, burst=1).hit("k") == 0  # off
