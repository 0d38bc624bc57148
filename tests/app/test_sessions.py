"""Signing in survives a reload and a new tab (a signed session cookie); signing out ends it.

AppTest cannot send cookies (``AppTest.context`` cannot seed them), so these tests stand
in for the browser: they read the token from the cookie script the page renders and hand
it back through ``kb.ui.session.session_cookie`` on the next "tab". The real cookie round
trip in a browser is covered by tests/app/test_e2e_assist.py.
"""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from kb.store.db import Database
from review import users
from tests.app.conftest import PASSWORD

TAB = """
import kb.ui.session as session
from kb.ui.navigation import main

browser_sent = session.session_cookie
session.session_cookie = lambda: {token!r}  # the cookie this tab's browser sent
try:
    main()
finally:
    session.session_cookie = browser_sent
"""


def open_tab(token: str | None) -> AppTest:
    """A new tab (or a reload) whose browser sends ``token`` as the session cookie."""
    return AppTest.from_string(TAB.format(token=token), default_timeout=30).run()


def cookie_written(at: AppTest) -> str:
    """The ``document.cookie`` assignment the page rendered on its last run."""
    scripts = [h.value for h in at.get("html") if "document.cookie" in h.value]
    assert len(scripts) == 1, scripts
    return scripts[0]


def sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(PASSWORD)
    return at.button[0].click().run()


def signed_in(at: AppTest) -> bool:
    on_signin_page = any(w.key == "signin_name" for w in at.text_input)
    return not on_signin_page and any("dave" in c.value for c in at.sidebar.caption)


def test_sign_in_sets_a_strict_cookie_that_a_new_tab_restores(app_kb):
    at = sign_in(open_tab(None), "dave")
    assert signed_in(at)
    script = cookie_written(at)
    assert "SameSite=Strict" in script and "Path=/" in script and "Max-Age=43200" in script
    assert PASSWORD not in script
    token = re.search(r"kb_session=([^;]+);", script).group(1)

    assert signed_in(open_tab(token))
    assert not signed_in(open_tab(token[:-3] + "abc"))  # a forged signature is refused
    assert not signed_in(open_tab(None))


def test_sign_out_clears_the_cookie_and_ends_the_token_everywhere(app_kb):
    token = re.search(r"kb_session=([^;]+);", cookie_written(sign_in(open_tab(None), "dave")))
    other_tab = open_tab(token.group(1))
    assert signed_in(other_tab)

    at = open_tab(token.group(1))
    at.sidebar.button(key="sign_out").click().run()
    assert at.text_input(key="signin_name")
    assert "kb_session=;" in cookie_written(at) and "Max-Age=0" in cookie_written(at)

    at.run()  # this tab's browser still sends the old cookie until it reloads
    assert not signed_in(at)
    assert not signed_in(open_tab(token.group(1)))  # a reload, or another tab
    other_tab.run()  # a tab left open (no reload) is signed out on its next action
    assert not signed_in(other_tab)


def test_a_disabled_user_is_not_restored_from_the_cookie(app_kb):
    token = re.search(r"kb_session=([^;]+);", cookie_written(sign_in(open_tab(None), "dave")))
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    with db.session() as session:
        users.set_disabled(session, "admin", "dave", True)
    db.dispose()
    assert not signed_in(open_tab(token.group(1)))
