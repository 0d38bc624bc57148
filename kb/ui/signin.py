"""The sign-in page: users from kb's user store, passwords checked against bcrypt hashes."""

from __future__ import annotations

import streamlit as st

from kb.ui.i18n import t
from kb.ui.session import sign_in


def page() -> None:
    """Ask for a user name and password; on success rerun into the signed-in app."""
    st.title(t("signin_title"))
    with st.form("signin"):
        name = st.text_input(t("username"), key="signin_name")
        password = st.text_input(t("password"), type="password", key="signin_password")
        pressed = st.form_submit_button(t("signin_button"), type="primary")
    if pressed:
        if sign_in(name, password) is None:
            st.error(t("signin_failed"))
        else:
            st.rerun()
