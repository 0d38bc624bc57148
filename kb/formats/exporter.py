"""Writing stored articles back to files (``kb export``).

Each article goes back to the file it was imported from, in the same format:
Markdown articles one per file, bulk FAQ entries together in their file in the
order they were imported, so that an export of an import gives the same files.
Plain documents (and articles written in the editor) are written as Markdown
with front matter, which imports back to the same article.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

from kb.errors import InvalidInput
from kb.formats.faq import FAQ_SUFFIXES, render_faq_file
from kb.formats.markdown import render_markdown
from kb.model import ArticleContent
from kb.store.articles import to_content
from kb.store.tables import ArticleVersion


def export_path(row: ArticleVersion) -> PurePosixPath:
    """The relative path an article version is exported to."""
    source = PurePosixPath(row.source) if row.source else None
    if source is None or source.is_absolute() or ".." in source.parts:
        return PurePosixPath(row.article.type) / f"{row.article_id}.md"
    if source.suffix.lower() in FAQ_SUFFIXES or source.suffix.lower() == ".md":
        return source
    return source.with_suffix(".md")


def render_files(rows: list[ArticleVersion]) -> dict[PurePosixPath, str]:
    """The text of every exported file, keyed by relative path."""
    groups: dict[PurePosixPath, list[tuple[int, ArticleContent]]] = defaultdict(list)
    for row in rows:
        groups[export_path(row)].append((row.id, to_content(row)))
    files: dict[PurePosixPath, str] = {}
    for path, members in groups.items():
        members.sort(key=lambda m: m[0])
        contents = [content for _, content in members]
        if path.suffix.lower() in FAQ_SUFFIXES:
            files[path] = render_faq_file(contents, path.suffix.lower())
        elif len(contents) == 1:
            files[path] = render_markdown(contents[0])
        else:
            for content in contents:
                files[path.with_name(f"{content.id}.md")] = render_markdown(content)
    return files


def write_files(files: dict[PurePosixPath, str], directory: Path) -> list[Path]:
    """Write files under ``directory``, each atomically (temp file, then rename)."""
    written = []
    root = directory.resolve()
    for relative, text in sorted(files.items()):
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise InvalidInput(f"refusing to write outside {directory}: {relative}")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".export-")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temp, target)
        written.append(target)
    return written
