"""Personal data sent to the real API never reaches the query log, feedback or server log.

Uses the session's real server (``kb serve`` in a subprocess, real SQLite, index and
model; tests/kb/api/conftest.py) and reads back the database rows and the server's
log file.
"""

from __future__ import annotations

import re
import unicodedata

import httpx
import pytest
from sqlalchemy import select

from kb.store.db import Database
from kb.store.tables import Feedback, QueryLog
from tests.kb.api.conftest import Kb

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Each form the issue found stored in clear, written as customers type them.
PERSONAL = [
    "１３８１２３４５６７８",  # full-width mobile
    "tel13912345678",  # glued to letters
    "138.1234.5678",  # dotted
    "110101 19900307 123X",  # spaced ID number
    "３２０１０２１９８８０５０６４４１Ｘ",  # full-width ID number
    "110101900307123",  # 15-digit ID number
    "CARD6222600260001072444",  # glued card number
    "一五九零零一二三四五六",  # Chinese numerals
    "zhang＠example.com",  # full-width at sign
    "阳光小区5栋1203",  # building and room
    "A座1201",
    "E12345678",  # passport
    "SF1402348812345",  # waybill number
]
QUESTION = "如何申请退货？" + "，".join(PERSONAL)
COMMENT = "没用，打我电话" + "，".join(PERSONAL[:6])
CHANNEL = "tel15011112222"
_CHINESE_DIGITS = re.compile("[〇零一二三四五六七八九幺两]{7,}")


def assert_no_personal_data(stored: str) -> None:
    """No digit in any width, no run of Chinese digits, no e-mail address."""
    normal = unicodedata.normalize("NFKC", stored)
    assert not re.search(r"\d", normal), stored
    assert not _CHINESE_DIGITS.search(normal), stored
    assert "@" not in normal, stored


def test_personal_data_is_masked_in_the_query_log_feedback_and_server_log(
    kb_server: Kb,
) -> None:
    with httpx.Client(base_url=kb_server.url, timeout=30) as client:
        response = client.post(
            "/v1/suggest",
            json={"question": QUESTION, "channel": CHANNEL},
            headers=kb_server.auth("public"),
        )
        assert response.status_code == 200, response.text
        rid = response.json()["request_id"]
        feedback = client.post(
            "/v1/feedback",
            json={"request_id": rid, "helpful": False, "comment": COMMENT},
            headers=kb_server.auth("public"),
        )
        assert feedback.status_code == 201, feedback.text

    db = Database(kb_server.config.effective_database_url)
    try:
        with db.session() as session:
            logged = session.scalar(select(QueryLog).where(QueryLog.request_id == rid))
            comment = session.scalar(select(Feedback.comment).where(Feedback.request_id == rid))
            assert logged is not None
            question, channel = logged.question, logged.channel
    finally:
        db.dispose()
    assert question.startswith("如何申请退货？")
    assert_no_personal_data(question)
    assert channel == "tel[手机号]"
    assert comment is not None and comment.startswith("没用，打我电话")
    assert_no_personal_data(comment)

    server_log = kb_server.server.log.read_text(errors="replace")
    [line] = [line for line in server_log.splitlines() if f"{rid} suggest" in line]
    assert_no_personal_data(line.split("question=", 1)[1])
    for value in PERSONAL:
        assert value not in server_log
        assert unicodedata.normalize("NFKC", value) not in server_log
