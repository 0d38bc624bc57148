"""The text an agent or a bot sends: the suggested reply without its ``[n]`` markers.

The marked reply (``answer``) keeps its markers so the citations stay on screen; what
leaves kb towards a customer is ``reply_text``: the same sentences with the markers of
the cited sources removed, optionally between a team's greeting and closing
(``reply_wrapping`` per channel and language, else ``reply_greeting`` / ``reply_closing``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from kb.answer.replywrap import language_of, wrapping_for
from kb.config import Config

_MARKER_RUN = re.compile(r"[ \t]*(?:\[(\d{1,3})\][ \t]*)+")


def clean_text(answer: str, cited: Iterable[int]) -> str:
    """``answer`` with its ``[n]`` markers removed, for every ``n`` in ``cited``.

    A bracketed number that is not one of the citations (``[2024]``, a list item ``[3]``
    of the article's own) is left as written. Spaces around a removed marker shrink to
    one before a word where Latin text meets (as ``join_sentences`` spaces it), else none.
    """
    numbers = set(cited)
    return _MARKER_RUN.sub(lambda m: _replacement(m, numbers), answer).strip()


def _replacement(match: re.Match[str], numbers: set[int]) -> str:
    whole = match.group(0)
    markers = re.findall(r"\[(\d{1,3})\]", whole)
    if not all(int(n) in numbers for n in markers):
        return whole
    before = match.string[match.start() - 1 : match.start()]
    after = match.string[match.end() : match.end() + 1]
    spaced = any(c.isspace() for c in whole)
    if spaced and after.isalnum() and (before.isascii() or after.isascii()):
        return " "  # the space join_sentences put between Latin text and what follows
    return ""


def reply_text(
    answer: str | None, cited: Iterable[int], greeting: str = "", closing: str = ""
) -> str | None:
    """The reply to send: clean text between ``greeting`` and ``closing`` (each on its own
    line, left out when empty); None when there is no reply (a hand-off)."""
    if not answer:
        return None
    parts = [greeting.strip(), clean_text(answer, cited), closing.strip()]
    return "\n".join(p for p in parts if p)


def sendable_text(
    answer: dict[str, Any], config: Config, channel: str = "", question: str = ""
) -> str | None:
    """The clean reply of an answer object, between the greeting and closing configured for
    ``channel`` in the language of ``question`` (of the reply when no question is given;
    ``kb.answer.replywrap``)."""
    cited = [int(c["n"]) for c in answer.get("citations") or [] if c.get("n") is not None]
    lang = language_of(question or answer.get("answer") or "")
    greeting, closing = wrapping_for(
        config.reply_wrapping, channel, lang, config.reply_greeting, config.reply_closing
    )
    return reply_text(answer.get("answer"), cited, greeting, closing)
