"""The composed reply in a real headless Chromium: a newer source's figure replaces the
older one and the agent is told on the reply (with the other source's passage and a
link), the copy carries the app channel's greeting and closing and no markers, each
article is cited once, and a reload keeps the agent signed in.

The app runs as in tests/app/test_e2e.py (``streamlit run app.py`` on loopback, Debian's
``/usr/bin/chromium``) over a copy of the app tests' knowledge base to which a newer
notice is published that raises the delay compensation of the published policy
(50% → 80%), and with ``reply_wrapping`` set for the ``app`` channel.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from ingest.sync import sync_index
from kb.config import load_config
from kb.model import ArticleContent, ArticleType
from kb.store.db import Database
from review import importing
from tests.app.test_e2e import (
    browser_tab,
    copied_by,
    idle,
    require_chromium,
    running_app,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

NOTICE = ArticleContent(
    id="delay-notice",
    type=ArticleType.POLICY,
    title="快件延误赔偿调整通知",
    body="快件超过承诺时限48小时未送达的，按运费的80%赔偿。\n",
    tags=["赔偿", "延误"],
    effective_from=date.today() - timedelta(days=1),
)
WRAP = {"app": {"greeting": {"zh": "您好，"}, "closing": {"zh": "如有其他问题，请随时联系我们。"}}}
QUESTION = "快件超过承诺时限48小时还没送到，按运费赔多少"


def publish_notice(home: Path) -> None:
    """Publish NOTICE in the copy (an audited bootstrap publication) and index it."""
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        importing.import_articles(
            session, "admin", [(NOTICE, "tests")], bootstrap_reason="browser test fixture"
        )
    sync_index(db, load_config(env={"KB_HOME": str(home)}).config)
    db.dispose()


@pytest.fixture
def compose_page(template_home: Path, kb_home: Path, tmp_path: Path) -> Iterator:
    require_chromium()
    shutil.copytree(template_home, kb_home)
    publish_notice(kb_home)
    wrapping = json.dumps(WRAP, ensure_ascii=False)
    with running_app(kb_home, tmp_path, reply_wrapping=wrapping) as url, browser_tab(url) as tab:
        yield tab


def test_newer_figure_kept_other_source_named_copy_wrapped_reload_keeps_sign_in(compose_page):
    page = compose_page
    page.get_by_label("用户名").wait_for()
    sign_in(page, "dave")
    page.get_by_label("客户问题").fill(QUESTION)
    page.get_by_role("button", name="获取建议回复").click()
    idle(page)
    page.locator(".kb-reply").wait_for()
    shot(page, "compose-disagreement")
    marked = page.locator(".kb-reply").inner_text()
    assert "80%" in marked and "50%" not in marked
    numbers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", marked)})
    assert numbers == list(range(1, len(numbers) + 1))
    cited = page.locator('[id^="kb-cite-"]')  # one anchor per citation
    assert cited.count() == len(numbers)
    labels = page.locator('[data-testid="stExpander"] summary').all_inner_texts()
    found = [re.search(r"\[\d+\][^·]*·\s*(\S+)", label) for label in labels]
    ids = [m.group(1) for m in found if m]
    assert len(ids) == len(numbers) == len(set(ids))  # each article cited once
    note = page.get_by_text("另一来源说法不同")
    assert note.count() == 1
    assert "快件延误赔偿标准" in note.inner_text() and "50%" in note.inner_text()
    assert page.locator('a[href*="article=delay-compensation"]').count() >= 1
    assert page.get_by_text("内部口径，勿发给客户：").count() == 0

    copied = copied_by(page, page.frame_locator("iframe").get_by_role("button", name="复制回复"))
    clean = re.sub(r"\s*\[\d+\]", "", marked).strip()
    assert copied == f"您好，\n{clean}\n如有其他问题，请随时联系我们。"
    assert not re.search(r"\[\d+\]", copied)

    page.reload()
    page.get_by_text("当前用户：dave").wait_for()
    idle(page)
    assert page.get_by_label("用户名").count() == 0
