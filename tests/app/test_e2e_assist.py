"""The assist page in a real headless Chromium: a sign-in that survives a reload and a new
tab, an internal-only reply shown as internal, copy without markers, sign-out that sticks.

Uses the server, browser and helpers of tests/app/test_e2e.py (``streamlit run app.py`` on
loopback, Playwright with Debian's ``/usr/bin/chromium``).
"""

from __future__ import annotations

import re

import pytest

from tests.app.test_e2e import (  # noqa: F401
    copied_by,
    idle,
    page,
    server,
    shot,
    sign_in,
    sign_out,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

INTERNAL_QUESTION = "坐席可以直接赔付多少钱？"  # the internal-only FAQ faq-approval-limit


def signed_in_as(tab, name: str) -> None:
    tab.get_by_text(f"当前用户：{name}").wait_for()
    idle(tab)


def test_sign_in_survives_reload_internal_reply_copies_clean_sign_out_sticks(page, server):  # noqa: F811
    page.get_by_label("用户名").wait_for()
    sign_in(page, "dave")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["kb_session"]["sameSite"] == "Strict"
    assert "correct-horse" not in cookies["kb_session"]["value"]

    page.reload()
    signed_in_as(page, "dave")
    other = page.context.new_page()  # a new tab of the same browser
    other.goto(server)
    signed_in_as(other, "dave")
    other.close()

    page.get_by_label("客户问题").fill(INTERNAL_QUESTION)
    page.get_by_role("button", name="获取建议回复").click()
    idle(page)
    page.locator(".kb-reply").wait_for()
    shot(page, "assist-internal-reply")
    assert page.get_by_text("内部口径，勿发给客户：").count() == 1
    marked = page.locator(".kb-reply").inner_text()
    assert re.search(r"\[\d+\]", marked)
    copy = page.frame_locator("iframe").get_by_role("button", name="复制（内部口径，勿发给客户）")
    copied = copied_by(page, copy)
    assert copied == re.sub(r"\s*\[\d+\]", "", marked).strip()
    assert "500元" in copied

    sign_out(page)
    page.reload()
    page.get_by_label("用户名").wait_for()
    idle(page)
    assert page.get_by_text("当前用户：dave").count() == 0
