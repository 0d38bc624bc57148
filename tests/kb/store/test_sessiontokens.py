"""Signed, expiring sign-in tokens (kb.store.sessiontokens), on real files under a tmp home."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from kb.errors import ConfigError
from kb.store.sessiontokens import (
    SECRET_FILE,
    issue_token,
    revoke_tokens,
    session_secret,
    verify_token,
)

DAY = 24 * 3600


def test_a_fresh_token_names_its_user(tmp_path: Path) -> None:
    token = issue_token(tmp_path, "dave")
    assert verify_token(tmp_path, token, DAY) == "dave"


def test_the_secret_is_made_once_and_owner_only(tmp_path: Path) -> None:
    token = issue_token(tmp_path, "dave")
    secret = (tmp_path / SECRET_FILE).read_bytes()
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    issue_token(tmp_path, "erin")
    assert (tmp_path / SECRET_FILE).read_bytes() == secret
    assert verify_token(tmp_path, token, DAY) == "dave"


def test_a_secret_others_can_read_is_refused_by_name(tmp_path: Path) -> None:
    issue_token(tmp_path, "dave")
    (tmp_path / SECRET_FILE).chmod(0o644)
    with pytest.raises(ConfigError, match=SECRET_FILE):
        issue_token(tmp_path, "dave")


def test_a_tampered_or_foreign_token_is_refused(tmp_path: Path) -> None:
    token = issue_token(tmp_path, "dave")
    payload, rest = token.split(".", 1)
    assert verify_token(tmp_path, payload[:-2] + "xx." + rest, DAY) is None
    other_kb = tmp_path / "other"
    other_kb.mkdir()
    assert verify_token(other_kb, token, DAY) is None
    assert verify_token(tmp_path, "not a token", DAY) is None


def test_an_expired_token_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue_token(tmp_path, "dave")
    later = time.time() + 2 * 3600
    monkeypatch.setattr(time, "time", lambda: later)  # the clock moves on two hours
    assert verify_token(tmp_path, token, 3 * 3600) == "dave"
    assert verify_token(tmp_path, token, 3600) is None


def test_signing_out_ends_earlier_tokens_of_that_user_only(tmp_path: Path) -> None:
    dave_tab1, dave_tab2 = issue_token(tmp_path, "dave"), issue_token(tmp_path, "dave")
    erin = issue_token(tmp_path, "erin")
    revoke_tokens(tmp_path, "dave")
    assert verify_token(tmp_path, dave_tab1, DAY) is None
    assert verify_token(tmp_path, dave_tab2, DAY) is None
    assert verify_token(tmp_path, erin, DAY) == "erin"
    again = issue_token(tmp_path, "dave")  # signing in again works at once
    assert verify_token(tmp_path, again, DAY) == "dave"


def test_a_corrupt_sign_out_record_is_an_error_naming_the_file(tmp_path: Path) -> None:
    token = issue_token(tmp_path, "dave")
    (tmp_path / "signed_out.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"signed_out\.json"):
        verify_token(tmp_path, token, DAY)


def test_an_empty_secret_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_bytes(b"")
    (tmp_path / SECRET_FILE).chmod(0o600)
    with pytest.raises(ConfigError, match="too short"):
        issue_token(tmp_path, "dave")


def test_processes_racing_to_make_the_secret_agree(tmp_path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(4) as pool:
        secrets_made = set(pool.map(session_secret, [tmp_path] * 8))
    assert len(secrets_made) == 1 and len(next(iter(secrets_made))) >= 32
    assert sorted(p.name for p in tmp_path.iterdir()) == [SECRET_FILE]
