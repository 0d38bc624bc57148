"""What a file may expand to: decompression bombs and the import_max_chars limit
(kb.formats.limits), on real generated .docx, .pdf and .html files."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path

import pytest

from kb.errors import InvalidInput
from kb.formats import limits
from kb.formats.importer import parse_file, read_articles
from kb.formats.plain import extract_plain

PARAGRAPH = "<w:p><w:r><w:t>保价快件按保价金额赔偿，未保价快件按运费的三倍赔偿。</w:t></w:r></w:p>"


def small_docx(paragraphs: int = 1) -> bytes:
    """A real .docx written by python-docx."""
    import docx

    document = docx.Document()
    document.add_heading("理赔标准", level=1)
    for _ in range(paragraphs):
        document.add_paragraph("保价快件按保价金额赔偿，未保价快件按运费的三倍赔偿。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def replace_members(docx: bytes, replacements: dict[str, object]) -> bytes:
    """``docx`` with members replaced: bytes, or a callable writing to the open member."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            if info.filename not in replacements:
                target.writestr(info, source.read(info))
        for name, content in replacements.items():
            with target.open(name, "w", force_zip64=True) as member:
                if callable(content):
                    content(member)
                else:
                    member.write(content)
    return out.getvalue()


def docx_bomb(megabytes: int) -> bytes:
    """A .docx whose document.xml is ``megabytes`` MB of repeated paragraphs."""
    block = PARAGRAPH.encode("utf-8") * (1_000_000 // len(PARAGRAPH.encode("utf-8")))

    def write(member: io.BufferedIOBase) -> None:
        member.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
        member.write(
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
            b'2006/main"><w:body>'
        )
        for _ in range(megabytes):
            member.write(block)
        member.write(b"</w:body></w:document>")

    return replace_members(small_docx(), {"word/document.xml": write})


PDF_LINE = "Refunds are paid within seven working days."


def text_pdf(pages: int, line: str = PDF_LINE) -> bytes:
    """A real PDF of ``pages`` pages that all show ``line`` (one shared content stream)."""
    stream = f"BT /F1 12 Tf 72 700 Td ({line}) Tj ET".encode("latin-1")
    page_ids = range(5, 5 + pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{i} 0 R".encode() for i in page_ids)
        + f"] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    page += b"/Resources << /Font << /F1 3 0 R >> >> >>"
    objects += [page] * pages
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write(b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets))
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode())
    out.write(f"startxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


class TestDocx:
    def test_a_strict_ooxml_document_is_refused_naming_the_file(self) -> None:
        """Word's "Strict Open XML" namespace opens, then python-docx fails when the
        paragraphs are read (AttributeError): that was an 'internal error' naming no file."""
        plain = small_docx()
        with zipfile.ZipFile(io.BytesIO(plain)) as archive:
            xml = archive.read("word/document.xml")
        strict = xml.replace(
            b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
            b"http://purl.oclc.org/ooxml/wordprocessingml/main",
        )
        data = replace_members(plain, {"word/document.xml": strict})
        with pytest.raises(InvalidInput, match=r"^s\.docx: not a readable \.docx file"):
            extract_plain(data, Path("s.docx"))

    def test_bomb_is_refused_before_parsing(self) -> None:
        bomb = docx_bomb(200)
        assert len(bomb) < 1_000_000  # 200 MB of XML in under 1 MB
        expanded = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist())
        assert expanded > 200_000_000
        with pytest.raises(InvalidInput, match=r"^bomb\.docx: word/document\.xml expands .* times"):
            extract_plain(bomb, Path("bomb.docx"))

    def test_total_expansion_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Incompressible members (ratio ~1) that add up to more than the bound.
        monkeypatch.setattr(limits, "MIN_ZIP_LIMIT", 500_000)
        data = replace_members(small_docx(), {"word/media/image1.png": os.urandom(600_000)})
        with pytest.raises(InvalidInput, match=r"^big\.docx: expands to [\d,]+ bytes, over"):
            extract_plain(data, Path("big.docx"), max_chars=1000)

    def test_text_over_the_limit_is_refused(self) -> None:
        data = small_docx(paragraphs=100)  # 100 x 25 characters, a small compressed file
        with pytest.raises(
            InvalidInput, match=r"^long\.docx: the text is over the limit of 1,000 characters"
        ):
            extract_plain(data, Path("long.docx"), max_chars=1000)
        _, text = extract_plain(data, Path("long.docx"), max_chars=10_000)
        assert len(text) > 1000

    def test_ordinary_docx_passes_the_zip_checks(self) -> None:
        limits.check_zip(small_docx(paragraphs=500), "ok.docx", limits.DEFAULT_MAX_CHARS)


class TestPdf:
    def test_many_pages_are_refused_before_reading(self) -> None:
        data = text_pdf(limits.MAX_PDF_PAGES + 1)
        with pytest.raises(InvalidInput, match=r"^many\.pdf: 5,001 pages, over the limit of 5,000"):
            extract_plain(data, Path("many.pdf"))

    def test_text_over_the_limit_stops_extraction(self) -> None:
        data = text_pdf(200)  # 200 x 43 characters
        with pytest.raises(InvalidInput, match=r"^p\.pdf: the text is over the limit of 1,000"):
            extract_plain(data, Path("p.pdf"), max_chars=1000)
        _, text = extract_plain(data, Path("p.pdf"), max_chars=20_000)
        assert text.count(PDF_LINE) == 200

    def test_a_stream_bomb_is_refused_naming_the_file(self) -> None:
        """pypdf's own limit (75 MB out of one stream) raises LimitReachedError, which is
        not a PdfReadError: it was an 'internal error' naming no file."""
        stream = zlib.compress(b" " * 80_000_000, 9)
        body = f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
        plain = text_pdf(1)
        start = plain.index(b"4 0 obj\n") + len(b"4 0 obj\n")
        end = plain.index(b"\nendobj", start)
        data = plain[:start] + body + stream + b"\nendstream" + plain[end:]
        with pytest.raises(InvalidInput, match=r"^bomb\.pdf: not a readable PDF \(Limit reached"):
            extract_plain(data, Path("bomb.pdf"))

    def test_a_damaged_pdf_is_refused_naming_the_file(self) -> None:
        """A catalog that refers to itself made pypdf raise AttributeError."""
        catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
        data = text_pdf(1).replace(catalog, b"1 0 R".ljust(len(catalog)))
        with pytest.raises(InvalidInput, match=r"^bad\.pdf: not a readable PDF"):
            extract_plain(data, Path("bad.pdf"))

    def test_pages_after_the_limit_are_not_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from pypdf import PageObject

        calls = []
        extract = PageObject.extract_text

        def counting(page: PageObject, *args: object, **kwargs: object) -> str:
            calls.append(1)  # a spy: the real extraction still runs
            return extract(page, *args, **kwargs)

        monkeypatch.setattr(PageObject, "extract_text", counting)
        with pytest.raises(InvalidInput, match="over the limit"):
            extract_plain(text_pdf(200), Path("p.pdf"), max_chars=1000)
        per_page = len(PDF_LINE) + 2  # the text and the blank line that joins pages
        assert len(calls) == 1000 // per_page + 1  # the pages that fit, and the one past it


class TestHtmlAndText:
    def test_huge_html_is_refused(self) -> None:
        html = "<html><body>" + "<p>退款将在七个工作日内原路退回。</p>" * 20_000 + "</body></html>"
        with pytest.raises(InvalidInput, match=r"^h\.html: the text is over the limit of 100,000"):
            extract_plain(html.encode("utf-8"), Path("h.html"), max_chars=100_000)

    def test_a_page_of_tiny_elements_is_refused_in_bounded_memory(self) -> None:
        """2 MB of empty elements: a tree parser held hundreds of MB for them (16 MB of
        them passed 1.5 GB in the adversarial run); the stream reader stops early."""
        import tracemalloc

        html = ("<html><body>" + "<i></i>" * 300_000 + "<p>正文</p></body></html>").encode()
        tracemalloc.start()
        try:
            with pytest.raises(InvalidInput, match=r"^t\.html: more than 200,000 HTML elements"):
                extract_plain(html, Path("t.html"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 40 * len(html), f"peak {peak:,} bytes for a {len(html):,}-byte page"

    def test_title_heading_and_text_without_scripts_or_navigation(self) -> None:
        html = (
            "<html><head><title> 退款 政策 </title><style>p{}</style></head><body>"
            "<nav>首页 | 联系我们</nav><h1>退款</h1><p>七日内&amp;原路退回。</p>"
            "<script>var x = 1;</script><ul><li>一</li><li>二</li></ul></body></html>"
        )
        title, text = extract_plain(html.encode(), Path("r.html"))
        assert title == "退款 政策"
        assert text == "退款\n七日内&原路退回。\n一\n二"

    def test_text_file_over_the_limit(self, tmp_path: Path) -> None:
        path = tmp_path / "t.txt"
        path.write_text("退款" * 600, encoding="utf-8")
        with pytest.raises(InvalidInput, match="over the limit of 1,000 characters"):
            parse_file(path, source="t.txt", max_bytes=10**6, max_chars=1000)

    def test_faq_answer_over_the_limit_names_the_entry(self, tmp_path: Path) -> None:
        path = tmp_path / "f.jsonl"
        path.write_text(
            '{"id": "ok", "question": "q", "answer": "short"}\n'
            f'{{"id": "long", "question": "q2", "answer": "{"x" * 2000}"}}\n',
            encoding="utf-8",
        )
        with pytest.raises(InvalidInput, match=r"f\.jsonl: the answer of long is over the limit"):
            parse_file(path, source="f.jsonl", max_bytes=10**6, max_chars=1000)


class TestImportBatch:
    def test_bomb_in_a_batch_imports_nothing_from_that_file(self, tmp_path: Path) -> None:
        (tmp_path / "bomb.docx").write_bytes(docx_bomb(120))
        (tmp_path / "good.docx").write_bytes(small_docx())
        batch = read_articles([tmp_path], max_bytes=20_000_000)
        errors = {Path(o.path).name: o.error for o in batch.errors}
        assert list(errors) == ["bomb.docx"] and "decompression bomb" in errors["bomb.docx"]
        assert [i.article.id for i in batch.items] == ["good"]

    def test_non_positive_limit_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidInput, match="import_max_chars must be positive"):
            read_articles([tmp_path], max_bytes=10, max_chars=0)
