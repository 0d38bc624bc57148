"""Reading article files into articles, ready to be stored (``kb import``).

``read_articles`` walks the given files and directories, parses each file by
its kind (Markdown with front matter, bulk FAQ files, plain documents) and
returns the parsed articles with every file's outcome. Nothing is written
here: the caller stores the batch in one transaction, so a batch imports
everything or nothing unless errors are explicitly tolerated.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import InvalidInput
from kb.formats.encoding import decode_text, read_bytes
from kb.formats.faq import FAQ_SUFFIXES, parse_faq_file
from kb.formats.limits import DEFAULT_MAX_CHARS, check_length
from kb.formats.markdown import has_front_matter, parse_markdown
from kb.formats.plain import PLAIN_SUFFIXES, extract_plain, id_from_path
from kb.language import detect_language
from kb.model import ArticleContent, ArticleType

SUPPORTED_SUFFIXES = tuple(sorted(set(FAQ_SUFFIXES + PLAIN_SUFFIXES)))

TextCleaner = Callable[[str], str]


@dataclass
class ImportedArticle:
    """One parsed article and where it came from (path relative to its root)."""

    article: ArticleContent
    source: str


@dataclass
class FileOutcome:
    """What happened to one file: how many articles it gave, or the error."""

    path: str
    articles: int = 0
    error: str | None = None


@dataclass
class ImportBatch:
    """The articles parsed from a set of paths, and each file's outcome."""

    items: list[ImportedArticle] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def errors(self) -> list[FileOutcome]:
        """The outcomes that failed."""
        return [o for o in self.outcomes if o.error]


def guess_lang(text: str) -> str:
    """'zh' when the text has a fair share of CJK characters, else 'en'
    (``kb.language.detect_language``)."""
    return detect_language(text) or "en"


def shown_path(path: Path) -> str:
    """``path`` as text that can be printed and stored: bytes of a file name that are not
    UTF-8 (a zip made on a Chinese Windows, unpacked here) appear as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_skipped(path: Path, root: Path) -> bool:
    """Files and folders whose names start with '_' or '.' are not articles."""
    return any(part.startswith(("_", ".")) for part in path.relative_to(root).parts)


def collect_files(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Expand files and directories into (root, file) pairs, sorted within each root.

    A link that leads outside its directory is an error, as is a missing path.
    """
    pairs: list[tuple[Path, Path]] = []
    for given in paths:
        if not given.exists():
            raise InvalidInput(f"{shown_path(given)}: no such file or directory")
        if given.is_file():
            pairs.append((given.parent, given))
            continue
        root = given.resolve()
        for path in sorted(given.rglob("*")):
            if _is_skipped(path, given) or not path.is_file():
                continue
            if not path.resolve().is_relative_to(root):
                raise InvalidInput(
                    f"{shown_path(path)}: leads outside {shown_path(given)} (refused)"
                )
            pairs.append((given, path))
    return pairs


def parse_file(
    path: Path,
    *,
    source: str,
    max_bytes: int,
    max_chars: int = DEFAULT_MAX_CHARS,
    cleaner: TextCleaner | None = None,
    default_type: ArticleType = ArticleType.POLICY,
) -> list[ArticleContent]:
    """Parse one file into articles; raise InvalidInput naming the file on any problem.

    ``max_bytes`` bounds the file, ``max_chars`` the text of each article in it.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InvalidInput(f"{path}: unsupported file type '{suffix or path.name}'")
    data = read_bytes(path, max_bytes)
    name = str(path)
    if suffix in FAQ_SUFFIXES:
        articles = parse_faq_file(decode_text(data, name), name, suffix)
        for article in articles:
            check_length(article.body, name, max_chars, f"the answer of {article.id}")
        return articles
    if suffix in (".md", ".markdown"):
        text = check_length(decode_text(data, name), name, max_chars)
        if has_front_matter(text):
            return [parse_markdown(text, name)]
    title, text = extract_plain(data, path, max_chars)
    if cleaner is not None:
        text = cleaner(text)
    article = ArticleContent(
        id=id_from_path(path),
        type=default_type,
        title=title,
        body=text.strip("\n") + "\n",
        lang=guess_lang(text),
    )
    return [article.validate()]


def read_articles(
    paths: Iterable[Path],
    *,
    max_bytes: int,
    max_chars: int = DEFAULT_MAX_CHARS,
    cleaner: TextCleaner | None = None,
    default_type: ArticleType = ArticleType.POLICY,
) -> ImportBatch:
    """Parse every file under ``paths``; duplicate ids across files are errors."""
    if max_chars < 1:
        raise InvalidInput(f"setting import_max_chars must be positive, not {max_chars}")
    batch = ImportBatch()
    seen: dict[str, str] = {}
    for root, path in collect_files(paths):
        source = path.relative_to(root).as_posix()
        outcome = FileOutcome(path=shown_path(path))
        batch.outcomes.append(outcome)
        if outcome.path != str(path):
            outcome.error = (
                f"{outcome.path}: the file name is not UTF-8 (made on another system?); "
                "rename the file and import again"
            )
            continue
        try:
            articles = parse_file(
                path,
                source=source,
                max_bytes=max_bytes,
                max_chars=max_chars,
                cleaner=cleaner,
                default_type=default_type,
            )
            for article in articles:
                if article.id in seen:
                    raise InvalidInput(
                        f"{path}: duplicate id '{article.id}' (also in {seen[article.id]})"
                    )
                seen[article.id] = str(path)
        except InvalidInput as exc:
            outcome.error = exc.message
            continue
        except OSError as exc:
            outcome.error = f"{path}: cannot read ({exc.strerror or exc})"
            continue
        outcome.articles = len(articles)
        batch.items.extend(ImportedArticle(article=a, source=source) for a in articles)
    return batch
