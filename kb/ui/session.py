"""Who is signed in, and what their roles let them see.

The signed-in user is kept in ``st.session_state`` by name only; roles are
re-read from the user store on every check, so a disabled user or a removed
role takes effect at once. The pages only decide what to *show*; every action
is authorised again by the service layer (``review.permissions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from kb.ui.i18n import t
from kb.ui.services import services
from review.permissions import ROLE_ACTIONS, Action, Role, find_user
from review.users import authenticate

USER_KEY = "kb_user"


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
    st.session_state[USER_KEY] = signed.name
    return signed


def sign_out() -> None:
    """Forget the signed-in user and every page's state."""
    for key in list(st.session_state.keys()):
        if key != "ui_lang":
            del st.session_state[key]


def current_user() -> SignedIn | None:
    """The signed-in user as the user store has them now (None if gone or disabled)."""
    name = st.session_state.get(USER_KEY)
    if not name:
        return None
    with services().session() as session:
        user = find_user(session, name)
        if user is None or user.disabled:
            return None
        return SignedIn(user.name, user.display_name or user.name, tuple(user.roles))


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
    return "、".join(t(f"role_{r}") if r in known else r for r in user.roles)
