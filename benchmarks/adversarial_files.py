"""Checks of benchmarks/adversarial.py on hostile files: decompression bombs and encodings."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from adversarial_support import ADMIN, Result, new_home, query, run_kb

DOCX_PARAGRAPH = "<w:p><w:r><w:t>退货政策重复文本，退货政策重复文本。</w:t></w:r></w:p>".encode()
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


def docx_bomb(path: Path, megabytes: int = 300) -> Path:
    """A .docx whose document.xml is ``megabytes`` MB of repeated text, written streaming."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as out:
            out.write(
                b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://'
                b'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            )
            block = DOCX_PARAGRAPH * (1_000_000 // len(DOCX_PARAGRAPH))
            for _ in range(megabytes):
                out.write(block)
            out.write(b"</w:body></w:document>")
    return path


def html_bomb(path: Path, megabytes: int = 15) -> Path:
    """An HTML file of tiny elements: a few bytes on disk per node, far more once parsed."""
    with path.open("w", encoding="utf-8") as out:
        out.write("<html><head><title>bomb</title></head><body>")
        block = "<div><span><b><i>退货</i></b></span></div>" * 25_000
        for _ in range(megabytes):
            out.write(block)
        out.write("</body></html>")
    return path


def pdf_many_pages(path: Path, pages: int = 50_000) -> Path:
    """A valid PDF of ``pages`` pages sharing one small content stream."""
    stream = b"BT /F1 12 Tf 72 720 Td (refund policy page) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{5 + i} 0 R".encode() for i in range(pages))
        + f"] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    page += b"/Resources << /Font << /F1 3 0 R >> >> >>"
    objects += [page] * pages
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(
            b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, xref)
        )
    return path


BOMB_SECONDS = 90.0  # an import still running after this is killed: not a prompt refusal
BOMB_RSS_LIMIT_MB = 1500.0  # ... and one above this (the machine is shared)


def check_bombs(root: Path, _options: Any) -> Result:
    """Finding 3: kb import refuses decompression bombs with one line and leaves no draft."""
    home = new_home(root, "bombs")
    files = {
        "docx": docx_bomb(root / "bomb-docx.docx"),
        "html": html_bomb(root / "bomb-html.html"),
        "pdf": pdf_many_pages(root / "bomb-pdf.pdf"),
    }
    figures: dict[str, Any] = {}
    all_held = True
    for kind, path in files.items():
        run = run_kb(
            home,
            "import",
            str(path),
            "--as",
            ADMIN,
            timeout=BOMB_SECONDS,
            rss_limit_mb=BOMB_RSS_LIMIT_MB,
        )
        drafts = query(home, "SELECT COUNT(*) FROM articles WHERE id = ?", path.stem)[0][0]
        held = run.is_clear_refusal(path.name, str(path), max_lines=2) and drafts == 0
        all_held = all_held and held
        figures[kind] = {
            "file_kb": round(path.stat().st_size / 1000),
            "held": held,
            "outcome": run.brief(),
            "seconds": round(run.seconds, 1),
            "max_rss_mb": round(run.max_rss_mb),
            "drafts_left": drafts,
            "killed": "[adversarial: killed" in run.stderr,
        }
    return Result(
        "3 decompression bombs",
        ".docx (300 MB of text zipped), 15 MB of tiny HTML elements, 50,000-page PDF: "
        "refused, no draft",
        held=all_held,
        figures=figures,
    )


POLICY_ZH_TW = "退貨政策：顧客於簽收後七日內可申請無理由退貨，運費由本公司負擔。\n" * 5
JAPANESE = "返品ポリシー：商品到着後七日以内であれば、理由を問わず返品できます。\n" * 5
POLICY_ZH = "退货政策：顾客签收后七日内可申请无理由退货，运费由本公司承担。\n" * 5


def check_encodings(root: Path, _options: Any) -> Result:
    """Finding 5: Big5 imports right; Shift-JIS and junk refused naming the file; GBK works."""
    home = new_home(root, "encodings")
    cases = {
        "big5": ("enc-big5.txt", POLICY_ZH_TW.encode("big5"), "退貨政策"),
        "gbk": ("enc-gbk.txt", POLICY_ZH.encode("gbk"), "退货政策"),
        "shift_jis": ("enc-sjis.txt", JAPANESE.encode("shift_jis"), None),
        # bytes in the user-defined (private-use) areas of both GB18030 and Big5 (the first
        # version of this probe used AAA1 AAB2 ACA3, which is valid Big5: 炕哈派)
        "private_use": ("enc-junk.txt", bytes([0xFE, 0xFE, 0xFD, 0xFD, 0xFC, 0xFC]) * 200, None),
    }
    figures: dict[str, Any] = {}
    for kind, (name, data, expected) in cases.items():
        path = root / name
        path.write_bytes(data)
        run = run_kb(home, "import", str(path), "--as", ADMIN)
        article_id = path.stem
        if expected is None:
            stored = query(home, "SELECT COUNT(*) FROM articles WHERE id = ?", article_id)[0][0]
            held = run.is_clear_refusal(name, max_lines=2) and stored == 0
            figures[kind] = {"held": held, "outcome": run.brief()}
        else:
            bodies = query(
                home, "SELECT title, body FROM article_versions WHERE article_id = ?", article_id
            )
            text = " ".join(f"{t} {b}" for t, b in bodies)
            held = run.code == 0 and expected in text
            figures[kind] = {"held": held, "outcome": run.brief(), "stored": text[:24]}
    return Result(
        "5 encodings",
        "Big5 and GBK policies import with the right text; Shift-JIS and PUA junk refused",
        held=all(f["held"] for f in figures.values()),
        figures=figures,
    )
