"""The text of an HTML page, read as a stream: bounded in time and memory by the text.

A tree parser (BeautifulSoup) holds every element of a page in memory: 16 MB of tiny
elements took over 1.5 GB before a word of text was counted. This reader is the
standard library's ``HTMLParser`` fed piece by piece: it keeps only the text outside
``script``, ``style``, navigation and form elements, the ``<title>`` and the first
``h1``/``h2``, and stops with a clear error once the text passes the character limit
or the page holds more elements than any real page does.
"""

from __future__ import annotations

from html.parser import HTMLParser

from kb.errors import InvalidInput
from kb.formats.limits import too_long

#: Elements whose content is not article text.
SKIPPED = frozenset({"script", "style", "noscript", "nav", "footer", "header", "form", "template"})
#: Elements that end a line of text.
BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section",
     "article", "table", "ul", "ol", "blockquote", "pre", "hr", "dt", "dd", "title"}
)  # fmt: skip
#: More start tags than this is no article page (a long real page has a few thousand).
MAX_ELEMENTS = 200_000
#: Characters fed to the parser at a time.
FEED_CHARS = 65_536


class _TextCollector(HTMLParser):
    """Collects the page's text, title and first heading as the parser streams."""

    def __init__(self, name: str, max_chars: int) -> None:
        super().__init__(convert_charrefs=True)
        self.name, self.max_chars = name, max_chars
        self.parts: list[str] = []
        self.length = self.elements = self.skipping = 0
        self.title: list[str] | None = None
        self.heading: list[str] | None = None
        self.done_title = self.done_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise InvalidInput(
                f"{self.name}: more than {MAX_ELEMENTS:,} HTML elements; not an article page"
            )
        if tag in SKIPPED:
            self.skipping += 1
        elif tag == "title" and not self.done_title:
            self.title = []
        elif tag in ("h1", "h2") and not self.done_heading:
            self.heading = []
        if tag in BLOCKS:
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag == "title" and self.title is not None:
            self.done_title = True
        elif tag in ("h1", "h2") and self.heading is not None:
            self.done_heading = True
        if tag in BLOCKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.title is not None and not self.done_title:
            self.title.append(data)
            return
        if self.heading is not None and not self.done_heading:
            self.heading.append(data)
        self._add(data)

    def _add(self, text: str) -> None:
        self.length += len(text)
        if self.length > self.max_chars * 2:  # blank lines are dropped later: some slack
            raise too_long(self.name, self.max_chars, "the text")
        self.parts.append(text)


def html_text(markup: str, name: str, max_chars: int) -> tuple[str, str]:
    """``(title, text)`` of an HTML page: the ``<title>`` (else the first h1/h2) and the
    text outside scripts, styles, navigation and forms, one line per block, blank lines
    dropped. ``InvalidInput`` naming ``name`` when the text passes ``max_chars``."""
    collector = _TextCollector(name, max_chars)
    for start in range(0, len(markup), FEED_CHARS):
        collector.feed(markup[start : start + FEED_CHARS])
    collector.close()
    lines = (line.strip() for line in "".join(collector.parts).split("\n"))
    text = "\n".join(line for line in lines if line)
    if len(text) > max_chars:
        raise too_long(name, max_chars, "the text")
    title = " ".join("".join(collector.title or []).split())
    heading = " ".join("".join(collector.heading or []).split())
    return title or heading, text
