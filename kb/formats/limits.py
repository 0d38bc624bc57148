"""Bounds on what a file may expand to once read, against decompression bombs.

The ``import_max_bytes`` setting bounds the file as stored; a compressed container
(.docx is a zip, a .pdf has compressed streams and can repeat one page's content on
any number of pages) can still expand to far more text than that. The
``import_max_chars`` setting bounds the text extracted per article, and before a .docx
is parsed its zip directory is checked:

- no member may expand more than ``MAX_ZIP_RATIO`` times (the ratio Apache POI's
  ``ZipSecureFile`` uses) once it is larger than ``ZIP_RATIO_MIN_BYTES``;
- all members together may not expand to more than ``zip_limit(max_chars)`` bytes:
  ``XML_BYTES_PER_CHAR`` bytes of XML per character of text, and at least
  ``MIN_ZIP_LIMIT`` so that small limits leave room for a document's styles and images.

A PDF is read page by page and given up as soon as its text passes the limit; one with
more than ``MAX_PDF_PAGES`` pages is refused before any page is read. Every refusal is
an ``InvalidInput`` naming the file and the limit.
"""

from __future__ import annotations

import io

from kb.errors import InvalidInput

#: The default of the ``import_max_chars`` setting.
DEFAULT_MAX_CHARS = 2_000_000
MAX_ZIP_RATIO = 100
ZIP_RATIO_MIN_BYTES = 1_000_000
XML_BYTES_PER_CHAR = 20
MIN_ZIP_LIMIT = 50_000_000
MAX_PDF_PAGES = 5_000


def zip_limit(max_chars: int) -> int:
    """The most bytes a .docx may expand to, for a text limit of ``max_chars``."""
    return max(MIN_ZIP_LIMIT, XML_BYTES_PER_CHAR * max_chars)


def check_zip(data: bytes, name: str, max_chars: int) -> None:
    """Refuse a zip container that would expand too much (see the module docstring).

    Only the zip directory is read; a file that is not a zip is left to the parser.
    """
    import zipfile  # here: kb.config imports this module, and every command kb.config

    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > ZIP_RATIO_MIN_BYTES and ratio > MAX_ZIP_RATIO:
            raise InvalidInput(
                f"{name}: {member.filename} expands {ratio:,.0f} times "
                f"({member.file_size:,} bytes), over the limit of {MAX_ZIP_RATIO} times "
                "(a decompression bomb?); nothing imported"
            )
    total, limit = sum(m.file_size for m in members), zip_limit(max_chars)
    if total > limit:
        raise InvalidInput(
            f"{name}: expands to {total:,} bytes, over the limit of {limit:,} "
            f"(import_max_chars {max_chars:,} x {XML_BYTES_PER_CHAR}); nothing imported"
        )


def check_pages(count: int, name: str) -> None:
    """Refuse a PDF with more pages than ``MAX_PDF_PAGES``."""
    if count > MAX_PDF_PAGES:
        raise InvalidInput(
            f"{name}: {count:,} pages, over the limit of {MAX_PDF_PAGES:,}; nothing imported"
        )


def too_long(name: str, max_chars: int, what: str = "the text") -> InvalidInput:
    """The error for extracted text over ``import_max_chars``."""
    return InvalidInput(
        f"{name}: {what} is over the limit of {max_chars:,} characters "
        "(setting import_max_chars); nothing imported"
    )


def check_length(text: str, name: str, max_chars: int, what: str = "the text") -> str:
    """Return ``text``, or refuse it if it has more than ``max_chars`` characters."""
    if len(text) > max_chars:
        raise too_long(name, max_chars, what)
    return text
