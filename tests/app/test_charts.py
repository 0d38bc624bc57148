"""The insights page's charts: what Vega-Lite is asked to draw."""

from __future__ import annotations

import pandas as pd

from kb.ui import charts


def test_top_bars_give_every_bar_its_own_row():
    """A fixed total height for a band axis collapsed the bars and their labels into one
    line as Streamlit drew them (seen in Chromium); each bar gets a step of its own."""
    frame = pd.DataFrame({"问题": ["快递丢了", "改地址", "退款"], "次数": [3, 2, 1]})
    spec = charts.top_bars(frame, "问题", "次数").to_dict()
    assert spec["height"] == {"step": charts.BAR_STEP}
    assert spec["encoding"]["y"]["field"] == "问题"
