"""Differences between two versions of an article (``kb diff ID V1 V2``).

Both versions are rendered as their canonical Markdown file (front matter and
body), so metadata changes show too. Lines are compared with ``difflib``;
where a changed block has long lines or Chinese text (a Chinese paragraph is
one long line), the block is compared character by character instead, and
tiny unchanged fragments between changes are folded in, so a reader sees
``退货期限为[-7-]{+15+}天`` rather than a whole paragraph removed and added.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.text import Text
from sqlalchemy.orm import Session

from kb.formats.markdown import render_markdown
from kb.store.articles import get_version, to_content
from review.permissions import Action, authorize

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
LONG_LINE = 30
MAX_INLINE_CHARS = 20_000
MIN_INLINE_RATIO = 0.3
FOLD_EQUAL_CHARS = 1


@dataclass
class Segment:
    """A run of characters: ``equal``, ``delete`` (only in the old) or ``insert``."""

    op: str
    text: str


@dataclass
class Block:
    """A run of lines: ``equal``, ``delete``, ``insert`` or ``replace``.

    A ``replace`` block has ``inline`` segments when compared character by character.
    """

    kind: str
    old: list[str]
    new: list[str]
    inline: list[Segment] | None = None


@dataclass
class VersionDiff:
    """The difference between two versions of one article."""

    article_id: str
    old_version: int
    new_version: int
    old_state: str
    new_state: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the versions differ."""
        return any(b.kind != "equal" for b in self.blocks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {**asdict(self), "changed": self.changed}


def diff_versions(session: Session, actor: str, article_id: str, old: int, new: int) -> VersionDiff:
    """Compare two versions of an article (any role that may view drafts)."""
    authorize(session, actor, Action.VIEW_DRAFTS, article_id=article_id)
    a, b = get_version(session, article_id, old), get_version(session, article_id, new)
    blocks = diff_texts(render_markdown(to_content(a)), render_markdown(to_content(b)))
    return VersionDiff(article_id, old, new, a.state, b.state, blocks)


def diff_texts(old: str, new: str) -> list[Block]:
    """Line blocks of the difference; changed blocks of long or CJK lines get inline segments."""
    a, b = old.splitlines(), new.splitlines()
    blocks = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        block = Block(tag, a[i1:i2], b[j1:j2])
        if tag == "replace":
            block.inline = inline_segments(block.old, block.new)
        blocks.append(block)
    return blocks


def _wants_inline(old: list[str], new: list[str]) -> bool:
    lines = old + new
    return any(len(line) > LONG_LINE or CJK.search(line) for line in lines)


def inline_segments(old: list[str], new: list[str]) -> list[Segment] | None:
    """Character-level segments of a changed block, or None when a line diff reads better."""
    a, b = "\n".join(old), "\n".join(new)
    if not _wants_inline(old, new) or len(a) + len(b) > MAX_INLINE_CHARS:
        return None
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < MIN_INLINE_RATIO:
        return None
    runs: list[list[str]] = []  # [kind, old text, new text]; kind "equal" or "change"
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        kind = "equal" if tag == "equal" else "change"
        if runs and runs[-1][0] == kind == "change":
            runs[-1][1] += a[i1:i2]
            runs[-1][2] += b[j1:j2]
        else:
            runs.append([kind, a[i1:i2], b[j1:j2]])
    return _segments(_fold_small_equals(runs))


def _fold_small_equals(runs: list[list[str]]) -> list[list[str]]:
    """Fold one-character unchanged runs between changes into the changes."""
    folded: list[list[str]] = []
    for index, run in enumerate(runs):
        between = 0 < index < len(runs) - 1
        small = run[0] == "equal" and len(run[1]) <= FOLD_EQUAL_CHARS and "\n" not in run[1]
        if between and small:
            run = ["change", run[1], run[2]]
        if folded and folded[-1][0] == run[0] == "change":
            folded[-1][1] += run[1]
            folded[-1][2] += run[2]
        else:
            folded.append(list(run))
    return folded


def _segments(runs: list[list[str]]) -> list[Segment]:
    segments = []
    for kind, old, new in runs:
        if kind == "equal":
            segments.append(Segment("equal", old))
            continue
        if old:
            segments.append(Segment("delete", old))
        if new:
            segments.append(Segment("insert", new))
    return segments


def _title(diff: VersionDiff) -> list[str]:
    return [
        f"--- {diff.article_id} version {diff.old_version} ({diff.old_state})",
        f"+++ {diff.article_id} version {diff.new_version} ({diff.new_state})",
    ]


def _context(block: Block, first: bool, last: bool, context: int) -> list[str]:
    lines = block.old
    if len(lines) <= 2 * context + 1:
        return lines
    head = [] if first else lines[:context]
    tail = [] if last else lines[-context:]
    return [*head, f"@@ {len(lines) - len(head) - len(tail)} unchanged lines @@", *tail]


def render_plain(diff: VersionDiff, context: int = 2) -> str:
    """The diff as text: ``-``/``+`` lines, ``~`` lines with ``[-old-]{+new+}`` inline."""
    out = _title(diff)
    if not diff.changed:
        return "\n".join([*out, "(no differences)"])
    for n, block in enumerate(diff.blocks):
        if block.kind == "equal":
            kept = _context(block, n == 0, n == len(diff.blocks) - 1, context)
            out.extend(line if line.startswith("@@") else f"  {line}" for line in kept)
        elif block.inline is not None:
            text = "".join(_marked(s) for s in block.inline)
            out.extend(f"~ {line}" for line in text.split("\n"))
        else:
            out.extend(f"- {line}" for line in block.old)
            out.extend(f"+ {line}" for line in block.new)
    return "\n".join(out)


def _shown(segment: Segment) -> str:
    """Segment text with added or removed line breaks made visible (↵)."""
    return segment.text if segment.op == "equal" else segment.text.replace("\n", "↵\n")


def _marked(segment: Segment) -> str:
    if segment.op == "delete":
        return f"[-{_shown(segment)}-]"
    if segment.op == "insert":
        return f"{{+{_shown(segment)}+}}"
    return segment.text


STYLES = {"equal": "", "delete": "bold red strike", "insert": "bold green underline"}


def render_rich(diff: VersionDiff, context: int = 2) -> Text:
    """The diff coloured for a terminal: deletions red and struck out, insertions green."""
    text = Text("\n".join(_title(diff)) + "\n", style="bold")
    if not diff.changed:
        text.append("(no differences)\n", style="dim")
        return text
    for n, block in enumerate(diff.blocks):
        if block.kind == "equal":
            for line in _context(block, n == 0, n == len(diff.blocks) - 1, context):
                text.append(f"{line}\n" if line.startswith("@@") else f"  {line}\n", style="dim")
        elif block.inline is not None:
            text.append("~ ", style="yellow")
            for segment in block.inline:
                value = _shown(segment).replace("\n", "\n~ ")
                text.append(value, style=STYLES[segment.op])
            text.append("\n")
        else:
            for line in block.old:
                text.append(f"- {line}\n", style="red")
            for line in block.new:
                text.append(f"+ {line}\n", style="green")
    return text
