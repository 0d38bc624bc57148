"""Greeting and closing per channel: how a team wraps the reply it sends on each channel.

The ``reply_wrapping`` setting is empty or a JSON object mapping a channel name (as the
query log records it: ``app`` for the agent app, ``api`` or the client's own ``channel``
for the HTTP API, ``cli``; ``*`` for any other) to its ``greeting`` and ``closing``. Each
is a text, or an object of texts by the question's language (``zh``, ``en``)::

    {"app": {"greeting": {"zh": "您好，", "en": "Hello,"},
             "closing": {"zh": "如有其他问题，请随时联系我们。", "en": "Anything else? Just ask."}},
     "wechat": {"greeting": "亲，您好～", "closing": ""}}

A channel or a part left out falls back to ``*``, then to the one-for-all
``reply_greeting`` / ``reply_closing`` settings; a language left out of an object means
no greeting (or closing) in that language.
"""

from __future__ import annotations

import json
import re
from typing import Any

PARTS = ("greeting", "closing")
LANGS = ("zh", "en")
ANY_CHANNEL = "*"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def parse_wrapping(text: str) -> dict[str, dict[str, Any]]:
    """The channel map of a ``reply_wrapping`` value ({} when empty); ValueError if invalid."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for channel, parts in data.items():
        if not isinstance(parts, dict) or not set(parts) <= set(PARTS):
            raise ValueError(f"channel {channel!r} must map to greeting and/or closing")
        for part in parts.values():
            if isinstance(part, dict):
                if not set(part) <= set(LANGS) or not all(
                    isinstance(v, str) for v in part.values()
                ):
                    raise ValueError(f"channel {channel!r}: texts by language zh/en only")
            elif not isinstance(part, str):
                raise ValueError(f"channel {channel!r}: a text or texts by language")
    return data


def valid_wrapping(text: str) -> bool:
    """Whether ``text`` is a valid ``reply_wrapping`` value."""
    try:
        parse_wrapping(text)
    except ValueError:
        return False
    return True


def language_of(text: str) -> str:
    """``zh`` when ``text`` has Chinese characters, else ``en``."""
    return "zh" if _CJK.search(text or "") else "en"


def wrapping_for(
    wrapping: str, channel: str, lang: str, greeting: str = "", closing: str = ""
) -> tuple[str, str]:
    """The greeting and closing for ``channel`` and ``lang`` (see the module)."""
    table = parse_wrapping(wrapping)
    defaults = {"greeting": greeting, "closing": closing}
    out = []
    for part in PARTS:
        value: Any = defaults[part]
        for key in (ANY_CHANNEL, channel):
            if part in table.get(key, {}):
                value = table[key][part]
        out.append(value.get(lang, "") if isinstance(value, dict) else value)
    return out[0], out[1]
