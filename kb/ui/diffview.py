"""A side-by-side view of ``review.diff`` output: old on the left, new on the right.

Deleted text is red and struck out on the left, inserted text green on the
right; long or Chinese lines are compared character by character (the
``inline`` segments ``review.diff`` computes). All article text is escaped.
"""

from __future__ import annotations

import html

from review.diff import Block, VersionDiff

COLUMN_CSS = (
    "white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:0.85rem;line-height:1.6;"
    "border:1px solid #ddd;border-radius:6px;padding:0.5rem;vertical-align:top;width:50%"
)
DEL = "background:#ffd7d5;color:#82071e;text-decoration:line-through"
INS = "background:#ccffd8;color:#055d20"


def _span(text: str, style: str) -> str:
    return f'<span style="{style}">{html.escape(text)}</span>' if text else ""


def _sides(block: Block) -> tuple[str, str]:
    """The HTML of one block on the old side and on the new side."""
    if block.kind == "equal":
        text = html.escape("\n".join(block.old))
        return text, text
    if block.inline is not None:
        old = "".join(
            html.escape(s.text) if s.op == "equal" else _span(s.text, DEL)
            for s in block.inline
            if s.op != "insert"
        )
        new = "".join(
            html.escape(s.text) if s.op == "equal" else _span(s.text, INS)
            for s in block.inline
            if s.op != "delete"
        )
        return old, new
    return _span("\n".join(block.old), DEL), _span("\n".join(block.new), INS)


def side_by_side_html(diff: VersionDiff, old_label: str, new_label: str) -> str:
    """A two-column table of the whole diff with changes highlighted."""
    old_parts, new_parts = [], []
    for block in diff.blocks:
        old, new = _sides(block)
        old_parts.append(old)
        new_parts.append(new)
    head = (
        f"<tr><th>{html.escape(old_label)} · v{diff.old_version}</th>"
        f"<th>{html.escape(new_label)} · v{diff.new_version}</th></tr>"
    )
    body = (
        f'<tr><td style="{COLUMN_CSS}">'
        + "\n".join(p for p in old_parts if p)
        + f'</td><td style="{COLUMN_CSS}">'
        + "\n".join(p for p in new_parts if p)
        + "</td></tr>"
    )
    return (
        f'<table class="kb-diff" style="width:100%;border-collapse:separate">{head}{body}</table>'
    )
