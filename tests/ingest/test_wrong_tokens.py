"""An address sending wrong tokens again and again is slowed down: 429 with Retry-After, its
tokens not even checked until it slows; other addresses are not affected."""

from __future__ import annotations

from pathlib import Path

from api_support import make_settings
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.limits import RateLimiter
from ingest.tokens import create_token


def test_a_token_guesser_is_slowed_and_others_are_not(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_wrong_tokens_burst=3, api_wrong_tokens_per_minute=1)
    good = create_token(settings, scopes=["read"], tables=[], name="ok")
    app = create_app(settings)
    wrong = {"authorization": "Bearer lh_000000000000_guess"}
    with TestClient(app, client=("203.0.113.7", 4000)) as guesser:
        assert [guesser.get("/v1/tables", headers=wrong).status_code for _ in range(3)] == [401] * 3
        slowed = guesser.get("/v1/tables", headers=wrong)
        assert slowed.status_code == 429
        assert int(slowed.headers["retry-after"]) >= 1
        assert "wrong tokens" in slowed.json()["detail"]
        # while slowed, even a right token from that address waits (the guess is not checked)
        assert (
            guesser.get("/v1/tables", headers={"authorization": f"Bearer {good}"}).status_code
            == 429
        )
        assert guesser.get("/health").status_code == 200  # no token: never slowed
    with TestClient(app, client=("198.51.100.9", 4000)) as other:
        assert (
            other.get("/v1/tables", headers={"authorization": f"Bearer {good}"}).status_code == 200
        )
        assert other.get("/v1/tables", headers=wrong).status_code == 401


def test_the_slow_down_ends_as_the_bucket_refills() -> None:
    bucket = RateLimiter(rate=0.5, burst=2)
    bucket.hit("a", now=0.0)
    bucket.hit("a", now=0.0)
    assert bucket.waiting("a", now=0.0) == 2.0
    assert bucket.waiting("a", now=1.0) == 1.0
    assert bucket.waiting("a", now=2.0) == 0.0
    assert bucket.waiting("never seen", now=0.0) == 0.0
