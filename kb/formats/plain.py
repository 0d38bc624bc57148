"""Plain documents (.txt, .md without front matter, .html, .docx, .pdf) as articles.

The id comes from the file name, the title from the document (its first
heading or line, or its metadata) or else the file name. The text is taken as
it is: cleaning scraped boilerplate is done by the caller's cleaner (see
``kb.importer``), so that editors review exactly what will be served.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from kb.errors import InvalidInput
from kb.formats.encoding import decode_text
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


def _html_text(data: bytes, name: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data, name), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "form"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    heading = soup.find(["h1", "h2"])
    body_root = soup.body or soup
    lines = [line.strip() for line in body_root.get_text("\n").split("\n")]
    text = "\n".join(line for line in lines if line)
    return (title or (heading.get_text(strip=True) if heading else "")), text


def _docx_text(data: bytes, name: str) -> tuple[str, str]:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for bad files
        raise InvalidInput(f"{name}: not a readable .docx file ({type(exc).__name__})") from None
    lines = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name or "").lower() if paragraph.style else ""
        if style.startswith("heading"):
            level = style.removeprefix("heading").strip()
            text = "#" * (int(level) if level.isdigit() else 1) + " " + text
        lines.append(text)
    return (document.core_properties.title or ""), "\n\n".join(lines)


def _pdf_text(data: bytes, name: str) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError) as exc:
        raise InvalidInput(f"{name}: not a readable PDF ({exc})") from None
    return title, "\n\n".join(p.strip() for p in pages if p.strip())


def extract_plain(data: bytes, path: Path) -> tuple[str, str]:
    """Return (title, text) of a plain document; the title falls back to its first line."""
    suffix = path.suffix.lower()
    name = str(path)
    if suffix in (".html", ".htm"):
        title, text = _html_text(data, name)
    elif suffix == ".docx":
        title, text = _docx_text(data, name)
    elif suffix == ".pdf":
        title, text = _pdf_text(data, name)
    else:
        text = decode_text(data, name)
        title = ""
    if not text.strip():
        raise InvalidInput(f"{name}: the document has no text")
    title = (title or _first_line_title(text) or path.stem)[:TITLE_MAX_CHARS]
    return title, text
