"""The insights page's charts (Altair, drawn by Streamlit's Vega-Lite).

Bars rather than lines, so one day of data is one visible bar and a year is 365 of
them; days on a time axis (gaps show as gaps); long question and title labels kept
whole up to a limit, every label escaped by Vega-Lite (text, not HTML).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

LABEL_LIMIT = 420
BAR_STEP = 28  # px per bar of ``top_bars``


def top_bars(frame: pd.DataFrame, label: str, value: str) -> alt.Chart:
    """Horizontal bars of ``value`` per ``label``, largest on top, each bar its own 28 px
    row (a fixed total height collapsed every bar and label into one line as Streamlit
    draws it)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            x=alt.X(f"{value}:Q", title=value, axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{value}:Q")],
        )
        .properties(height=alt.Step(BAR_STEP))
    )


def daily_bars(daily: pd.DataFrame, day: str, questions: str, handoffs: str) -> alt.Chart:
    """Questions per day as bars, the hand-offs among them as darker bars in front."""
    frame = daily.reset_index()
    frame.columns = ["day", "questions", "handoffs"]
    frame["day"] = pd.to_datetime(frame["day"])
    long = frame.melt("day", var_name="series", value_name="n")
    long["series"] = long["series"].map({"questions": questions, "handoffs": handoffs})
    days = frame["day"].nunique()
    size = max(2, min(40, 600 // max(days, 1)))
    return (
        alt.Chart(long)
        .mark_bar(size=size)
        .encode(
            x=alt.X("day:T", title=day, axis=alt.Axis(format="%Y-%m-%d", tickCount=min(days, 12))),
            y=alt.Y("n:Q", title=None, stack=None, axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("series:N", title=None, sort=[questions, handoffs]),
            order=alt.Order("series:N", sort="descending"),
            tooltip=[
                alt.Tooltip("day:T", title=day, format="%Y-%m-%d"),
                alt.Tooltip("series:N", title=""),
                alt.Tooltip("n:Q", title=""),
            ],
        )
        .properties(height=260)
    )
