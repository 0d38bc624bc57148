"""Plain documents (.txt, .md without front matter, .html, .docx, .pdf) as articles.

The id comes from the file name, the title from the document (its first
heading or line, or its metadata) or else the file name. The text is taken as
it is: cleaning scraped boilerplate is done by the caller's cleaner (see
``kb.formats.importer``), so that editors review exactly what will be served. The text is
bounded by ``max_chars`` (the ``import_max_chars`` setting) and a .docx or .pdf is
checked against decompression bombs while it is read (``kb.formats.limits``).
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

from kb.errors import InvalidInput
from kb.formats.encoding import decode_text
from kb.formats.html import html_text
from kb.formats.limits import DEFAULT_MAX_CHARS, check_length, check_pages, check_zip, too_long
from kb.model import ID_PATTERN

PLAIN_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf")
TITLE_MAX_CHARS = 80


def id_from_path(path: Path) -> str:
    """A stable article id from a file name: its safe characters, else a hash."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._")[:100]
    if slug and ID_PATTERN.match(slug):
        return slug
    digest = hashlib.sha1(path.name.encode("utf-8")).hexdigest()[:12]
    return f"doc-{digest}"


def _first_line_title(text: str) -> str:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:TITLE_MAX_CHARS]
    return ""


def _html_text(data: bytes, name: str, max_chars: int) -> tuple[str, str]:
    return html_text(decode_text(data, name), name, max_chars)


def _docx_text(data: bytes, name: str, max_chars: int) -> tuple[str, str]:
    import docx

    check_zip(data, name, max_chars)
    try:
        document = docx.Document(io.BytesIO(data))
        return (document.core_properties.title or ""), _docx_body(document, name, max_chars)
    except InvalidInput:
        raise
    except Exception as exc:  # python-docx raises several types for bad files, some lazily
        raise InvalidInput(f"{name}: not a readable .docx file ({type(exc).__name__})") from None


def _docx_body(document: Any, name: str, max_chars: int) -> str:
    """The paragraphs of a python-docx ``Document``, headings as Markdown headings."""
    lines: list[str] = []
    length = 0
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name or "").lower() if paragraph.style else ""
        if style.startswith("heading"):
            level = style.removeprefix("heading").strip()
            text = "#" * (int(level) if level.isdigit() else 1) + " " + text
        lines.append(text)
        length += len(text) + 2
        if length > max_chars:
            raise too_long(name, max_chars)
    return "\n\n".join(lines)


def _pdf_text(data: bytes, name: str, max_chars: int) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        check_pages(len(reader.pages), name)
        pages, length = [], 0
        for page in reader.pages:  # page by page: stop as soon as the text is too long
            text = (page.extract_text() or "").strip()
            length += len(text) + 2
            if length > max_chars:
                raise too_long(name, max_chars)
            pages.append(text)
        title = (reader.metadata.title if reader.metadata else None) or ""
    except InvalidInput:
        raise
    except PyPdfError as exc:  # its own refusals too: a stream bomb, a reference loop
        raise InvalidInput(f"{name}: not a readable PDF ({exc})") from None
    except Exception as exc:  # pypdf raises many other types on damaged files
        raise InvalidInput(f"{name}: not a readable PDF ({type(exc).__name__})") from None
    return title, "\n\n".join(p for p in pages if p)


def extract_plain(data: bytes, path: Path, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, str]:
    """Return (title, text) of a plain document; the title falls back to its first line.

    Raises ``InvalidInput`` naming the file when it is unreadable, has no text, or its
    text would exceed ``max_chars`` characters (see ``kb.formats.limits``).
    """
    suffix = path.suffix.lower()
    name = str(path)
    if suffix in (".html", ".htm"):
        title, text = _html_text(data, name, max_chars)
    elif suffix == ".docx":
        title, text = _docx_text(data, name, max_chars)
    elif suffix == ".pdf":
        title, text = _pdf_text(data, name, max_chars)
    else:
        text = check_length(decode_text(data, name), name, max_chars)
        title = ""
    if not text.strip():
        raise InvalidInput(f"{name}: the document has no text")
    title = (title or _first_line_title(text) or path.stem)[:TITLE_MAX_CHARS]
    return title, text
