"""Translation links between articles (issue 11, ``translation_of``): stored with the
version, checked to name an existing article before anything is written, exported and
imported back. Real migrated SQLite per test (``db``), real review actions, real files."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kb.errors import InvalidInput
from kb.formats.exporter import render_files
from kb.formats.faq import parse_faq_file, render_faq_file
from kb.formats.markdown import parse_markdown, render_markdown
from kb.model import ArticleContent, ArticleType
from kb.store.articles import latest_version, to_content
from kb.store.db import Database
from kb.store.tables import Article, ArticleVersion
from review import editing
from review.importing import import_articles
from tests.review.helpers import content, run


def _english(link: str = "refund", article_id: str = "refund-en") -> ArticleContent:
    return content(
        article_id, "Returns within 7 days.\n", title="Refunds", lang="en", translation_of=link
    )


def _count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(ArticleVersion)) or 0)


class TestModel:
    def test_a_link_to_itself_or_a_bad_id_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="itself"):
            _english(link="Refund-EN").validate()
        with pytest.raises(InvalidInput, match="invalid translation_of"):
            _english(link="no spaces please").validate()

    def test_markdown_round_trip_and_files_without_a_link_unchanged(self) -> None:
        text = render_markdown(_english())
        assert "\ntranslation_of: refund\n" in text
        assert parse_markdown(text, "a.md").translation_of == "refund"
        plain = render_markdown(content())
        assert "translation_of" not in plain
        assert parse_markdown(plain, "b.md").translation_of == ""

    def test_faq_file_round_trip(self) -> None:
        faq = ArticleContent(
            id="q-en",
            type=ArticleType.FAQ,
            title="Q",
            body="A\n",
            question="Q?",
            lang="en",
            translation_of="q",
        )
        for suffix in (".jsonl", ".csv", ".yaml"):
            text = render_faq_file([faq], suffix)
            assert parse_faq_file(text, "f" + suffix, suffix)[0].translation_of == "q"


class TestStored:
    def test_link_to_a_stored_article_is_kept(self, people: Database) -> None:
        with people.session() as session:
            editing.create_draft(session, "ann", content())
        with people.session() as session:
            editing.create_draft(session, "ann", _english())
        with people.session() as session:
            assert to_content(latest_version(session, "refund-en")).translation_of == "refund"

    def test_link_to_a_missing_article_stores_nothing(self, people: Database) -> None:
        before = _count(people)
        with pytest.raises(InvalidInput, match="translation_of 'refund' names no article"):
            run(people, editing.create_draft, "ann", _english())
        assert _count(people) == before

    def test_a_draft_cannot_gain_a_missing_link(self, people: Database) -> None:
        with people.session() as session:
            editing.create_draft(session, "ann", _english(link=""))
        with pytest.raises(InvalidInput, match="names no article"):
            run(
                people,
                editing.save_draft,
                "ann",
                _english(link="nowhere"),
                expected_version=1,
                expected_revision=1,
            )
        with people.session() as session:
            assert latest_version(session, "refund-en").translation_of == ""

    def test_an_import_may_bring_the_original_along(self, people: Database) -> None:
        items = [(_english(), "en.md"), (content(), "zh.md")]
        result = run(people, import_articles, "ann", items)
        assert result.created == 2

    def test_an_import_with_a_missing_link_stores_nothing(self, people: Database) -> None:
        items = [(content("other"), "o.md"), (_english(), "en.md")]
        with pytest.raises(InvalidInput, match="refund-en: translation_of"):
            run(people, import_articles, "ann", items)
        with people.session() as session:
            assert session.scalar(select(func.count()).select_from(Article)) == 0

    def test_export_then_import_keeps_the_link(self, people: Database) -> None:
        run(people, import_articles, "ann", [(content(), "zh.md"), (_english(), "en.md")])
        with people.session() as session:
            rows = [latest_version(session, a) for a in ("refund", "refund-en")]
            files = render_files(rows)
        back = {c.id: c for path, text in files.items() for c in [parse_markdown(text, str(path))]}
        assert back["refund-en"].translation_of == "refund"
        assert back["refund"].translation_of == ""
