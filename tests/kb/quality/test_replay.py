"""Answer replay (kb.quality.replay): differences between two traces, the filters replayed,
and pruning traces past query_trace_days (real SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kb.errors import InvalidInput, NotFound
from kb.quality.replay import differences, logged_request, prune_traces, replay_filters, trace_of
from kb.store.db import Database
from kb.store.tables import QueryLog

THEN = {
    "answer": "7天内可以退货[1]",
    "citations": [{"n": 1, "article_id": "returns", "version": 1}],
    "handoff": False,
    "mode": "faq",
    "reason": None,
    "threshold": 0.5,
    "index_version": "v1",
    "confidence": 0.9,
    "results": [{"article_id": "returns", "version": 1}],
    "filters": {"audience": "internal", "types": ["faq"], "tags": [], "lang": "zh",
                "as_of": "2020-01-01"},
}  # fmt: skip


def test_same_trace_has_no_difference() -> None:
    assert differences(THEN, dict(THEN)) == []


def test_differences_name_what_changed() -> None:
    now = {
        **THEN,
        "answer": None,
        "citations": [],
        "handoff": True,
        "mode": None,
        "reason": "low_confidence",
        "index_version": "v2",
        "confidence": 0.3,
        "results": [{"article_id": "returns", "version": 2}],
    }
    changed = {d["what"]: (d["then"], d["now"]) for d in differences(THEN, now)}
    assert changed["answer"] == ("7天内可以退货[1]", None)
    assert changed["citations"] == (["returns v1"], [])
    assert changed["handoff"] == (False, True)
    assert changed["confidence"] == (0.9, 0.3)
    assert changed["ranked articles"] == (["returns v1"], ["returns v2"])
    assert "threshold" not in changed


def test_replay_keeps_the_filters_but_asks_as_of_today() -> None:
    filters = replay_filters(THEN)
    assert (filters.audience, filters.types, filters.lang) == ("internal", ("faq",), "zh")
    assert filters.as_of == datetime.now(UTC).date() or filters.as_of.year >= 2026


@pytest.fixture
def logged(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as session:
        for request_id, age in (("old", 100), ("new", 1)):
            session.add(
                QueryLog(
                    request_id=request_id, ts=now - timedelta(days=age), audience="public",
                    question="退货", answered=True, handoff=False, confidence=0.9, trace=THEN,
                )
            )  # fmt: skip
    return db


def test_prune_drops_old_traces_and_keeps_the_rows(logged: Database) -> None:
    with logged.session() as session:
        assert prune_traces(session, 0) == 0  # 0: keep every trace
        assert prune_traces(session, 90) == 1
    with logged.session() as session:
        rows = dict(session.execute(select(QueryLog.request_id, QueryLog.trace)).tuples().all())
        assert rows == {"old": None, "new": THEN}
        assert prune_traces(session, 90) == 0
    with logged.session() as session, pytest.raises(InvalidInput, match="query_trace_days"):
        prune_traces(session, -1)


def test_an_unknown_request_is_named(logged: Database) -> None:
    with logged.session() as session, pytest.raises(NotFound, match="'nope'"):
        logged_request(session, "nope")


def test_kb_prune_drops_traces_past_the_setting(
    kb_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from kb.cli.main import app

    db = Database(f"sqlite:///{kb_home / 'kb.sqlite3'}")
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as session:
        for request_id, age in (("old", 40), ("new", 1)):
            session.add(
                QueryLog(
                    request_id=request_id, ts=now - timedelta(days=age), audience="public",
                    question="退货", answered=True, handoff=False, confidence=0.9, trace=THEN,
                )
            )  # fmt: skip
    db.dispose()
    monkeypatch.setenv("KB_QUERY_TRACE_DAYS", "30")
    result = CliRunner().invoke(app, ["prune", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"pruned": 1, "query_trace_days": 30}
    monkeypatch.setenv("KB_QUERY_TRACE_DAYS", "-1")
    result = CliRunner().invoke(app, ["prune"])
    assert result.exit_code == 1 and "query_trace_days" in result.output
    assert "Traceback" not in result.output


def test_the_trace_keeps_span_offsets_and_notes_but_no_passages() -> None:
    spans = [
        {"passage": "第一句。", "char_start": 0, "char_end": 4},
        {"passage": "第三句。", "char_start": 9, "char_end": 13},
    ]
    note = {
        "kind": "disagreement",
        "article_id": "a",
        "figure": "7 个工作日",
        "other_figure": "5 个工作日",
        "other": {"article_id": "b", "version": 2, "passage": "旧的说法。", "char_start": 3},
    }
    data = {
        "answer": "第一句。[1]第三句。[1]",
        "citations": [{"n": 1, "article_id": "a", "version": 1, "char_start": 0, "spans": spans}],
        "notes": [note],
    }
    trace = trace_of(data)
    assert trace["citations"][0]["spans"] == [[0, 4], [9, 13]]
    assert trace["notes"][0]["other"] == {
        "article_id": "b",
        "version": 2,
        "char_start": 3,
        "char_end": None,
    }
    assert "旧的说法" not in str(trace) and "第三句" not in str(trace["citations"])
