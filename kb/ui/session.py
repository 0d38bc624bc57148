"""Who is signed in, and what their roles let them see.

The signed-in user is kept in ``st.session_state`` by name only; roles are
re-read from the user store on every check, so a disabled user or a removed
role takes effect at once. Signing in also sets a cookie holding a signed,
expiring token (``kb.store.sessiontokens``: the name and issue time, never the
password), so a reload or a new tab restores the user; signing out clears the
cookie and ends every token of that user on the server; a tab still open on a token
that has ended (signed out elsewhere, or expired) is signed out on its next run. The
pages only decide what to *show*; every action is authorised again by the service
layer (``review.permissions``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from kb.errors import KbError
from kb.store import sessiontokens
from kb.ui.i18n import enumeration, t
from kb.ui.services import services
from review.permissions import ROLE_ACTIONS, Action, Role, find_user
from review.users import authenticate

USER_KEY = "kb_user"
TOKEN_KEY = "kb_token"  # the token this session was signed in with (checked on every run)
COOKIE_NAME = "kb_session"
_PENDING_COOKIE = "kb_cookie_pending"  # a token to set, or "" to clear, on the next run


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user: name, display name and roles (as last read)."""

    name: str
    display_name: str
    roles: tuple[str, ...]

    def has(self, action: Action) -> bool:
        """True when one of the user's roles grants ``action``."""
        return any(action in _ROLE_ACTIONS.get(r, ()) for r in self.roles)


_ROLE_ACTIONS = {str(role): actions for role, actions in ROLE_ACTIONS.items()}


def sign_in(name: str, password: str) -> SignedIn | None:
    """Check the password against the user store; remember the user on success."""
    with services().session() as session:
        user = authenticate(session, name.strip(), password)
        if user is None:
            return None
        signed = SignedIn(user.name, user.display_name or user.name, tuple(user.roles))
    token = sessiontokens.issue_token(_home(), signed.name)
    st.session_state[USER_KEY] = signed.name
    st.session_state[TOKEN_KEY] = token
    st.session_state[_PENDING_COOKIE] = token
    return signed


def sign_out() -> None:
    """End the user's sessions (this tab, other tabs, the cookie) and forget every page's state."""
    name = st.session_state.get(USER_KEY)
    if name:
        sessiontokens.revoke_tokens(_home(), name)
    _forget()


def _forget() -> None:
    """Forget the user and every page's state (not the language); clear the cookie."""
    for key in list(st.session_state.keys()):
        if key != "ui_lang":
            del st.session_state[key]
    st.session_state[_PENDING_COOKIE] = ""


def current_user() -> SignedIn | None:
    """The signed-in user as the user store has them now (None if gone or disabled).

    With no user in this session, a valid session cookie restores the one it names. A
    session whose token has ended (signed out in another tab, or expired) is forgotten.
    """
    name = st.session_state.get(USER_KEY)
    if name and not _token_valid(name):
        _forget()
        name = None
    name = name or _user_from_cookie()
    if not name:
        return None
    with services().session() as session:
        user = find_user(session, name)
        if user is None or user.disabled:
            return None
        st.session_state[USER_KEY] = user.name
        return SignedIn(user.name, user.display_name or user.name, tuple(user.roles))


def session_cookie() -> str | None:
    """The session token the browser sent when this tab connected (None if none)."""
    return st.context.cookies.get(COOKIE_NAME)


def write_pending_cookie() -> None:
    """Set or clear the session cookie in the browser if a sign-in or sign-out asked to.

    Streamlit cannot set cookies from Python, so a small script on the page does it.
    """
    if _PENDING_COOKIE not in st.session_state:
        return
    token = st.session_state.pop(_PENDING_COOKIE)
    max_age = int(services().config.session_lifetime_hours * 3600) if token else 0
    cookie = f"{COOKIE_NAME}={token}; Max-Age={max_age}; Path=/; SameSite=Strict"
    st.html(
        f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True
    )


def _user_from_cookie() -> str | None:
    token = session_cookie()
    if not token:
        return None
    name = _verify(token)
    if name:
        st.session_state[TOKEN_KEY] = token
    return name


def _token_valid(name: str) -> bool:
    """True while this session's token is still good for ``name`` (a session given a user
    without a token, as the page tests do, has nothing to end)."""
    token = st.session_state.get(TOKEN_KEY)
    return token is None or _verify(token) == name


def _verify(token: str) -> str | None:
    lifetime = services().config.session_lifetime_hours * 3600
    try:
        return sessiontokens.verify_token(_home(), token, lifetime)
    except KbError as exc:  # e.g. a session secret others can read
        st.error(t("error", message=exc.message))
        return None


def _home() -> Path:
    home = services().config.home_dir
    home.mkdir(parents=True, exist_ok=True)
    return home


def require(action: Action) -> SignedIn:
    """The signed-in user if allowed ``action``; otherwise a message and the page stops."""
    user = current_user()
    if user is None or not user.has(action):
        st.warning(t("not_allowed"))
        st.stop()
    return user


def role_names(user: SignedIn) -> str:
    """The user's roles in the interface language."""
    known = {str(r) for r in Role}
    return enumeration(t(f"role_{r}") if r in known else r for r in user.roles)
