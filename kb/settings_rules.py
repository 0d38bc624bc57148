"""The rules a setting's value must satisfy, each said in words for errors and the docs.

``kb.config`` declares every setting with one of these (``setting(..., rule=...)``) and
checks them all when the configuration loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kb.answer.replywrap import valid_wrapping


@dataclass(frozen=True)
class Rule:
    """What a setting's value must satisfy (``test``), said in words (``text``)."""

    test: Callable[[Any], bool]
    text: str


def between(low: float, high: float) -> Rule:
    """A number from ``low`` to ``high``, both included."""
    return Rule(lambda v: low <= v <= high, f"between {low} and {high}")


def at_least(low: int) -> Rule:
    """A whole number of at least ``low``."""
    return Rule(lambda v: v >= low, f"at least {low}")


def one_of(*choices: str) -> Rule:
    """One of ``choices`` exactly."""
    return Rule(lambda v: v in choices, "one of " + ", ".join(choices))


def _is_url(value: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except (ArgumentError, ValueError):
        return False
    return True


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def at_most_chars(high: int) -> Rule:
    """Text of at most ``high`` characters."""
    return Rule(lambda v: len(v) <= high, f"at most {high} characters")


def matching(pattern: str, text: str) -> Rule:
    """Text matching the regular expression ``pattern`` entirely, said as ``text``."""
    return Rule(lambda v: re.fullmatch(pattern, v) is not None, text)


#: True or false (a YAML boolean, or 1/0, true/false, yes/no, on/off in the environment).
BOOLEAN = Rule(lambda v: isinstance(v, bool), "true or false")
#: An empty value or a URL SQLAlchemy can parse.
DATABASE_URL = Rule(lambda v: not v or _is_url(v), "empty or a SQLAlchemy URL")
#: An empty value or an http(s) address.
HTTP_URL = Rule(
    lambda v: not v or re.match(r"https?://[^\s/]+", v) is not None, "empty or http(s)://…"
)
#: A logging level name, in any case.
LOG_LEVEL = Rule(
    lambda v: v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"), "DEBUG, INFO, WARNING or ERROR"
)
#: Empty, or a regular expression Python can compile.
REGEX = Rule(lambda v: not v or _compiles(v), "empty or a valid regular expression")
#: Empty, or a file that exists.
EXISTING_FILE = Rule(lambda v: str(v) in ("", ".") or v.expanduser().is_file(), "an existing file")
#: Empty, or a JSON object: channel -> greeting / closing (``kb.answer.replywrap``).
REPLY_WRAPPING = Rule(
    lambda v: valid_wrapping(v),
    "empty or a JSON object: channel → greeting and closing",
)
