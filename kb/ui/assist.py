"""Placeholder."""

import streamlit as st


def page() -> None:
    """Placeholder."""
    st.write("assist")
