#!/usr/bin/env python3
"""Writes the loader test fixtures: a two-page PDF, a Word document, and damaged copies.

Run from this folder: python3 make_fixtures.py. Standard library only; the output is committed
so the tests need no Python.
"""
import zipfile


def pdf(pages):
    """A minimal, valid PDF with one Helvetica text block per page (lines of text)."""
    objects = []

    def add(body):
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pages_id = len(objects) + 1 + 2 * len(pages)  # filled after the page objects
    page_ids = []
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)))
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    assert add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)


def docx(paragraphs):
    """A minimal Word document: (style or None, text) paragraphs."""
    body = []
    for style, text in paragraphs:
        ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        runs = "".join(
            f'<w:r><w:t xml:space="preserve">{part}</w:t></w:r>' + ("<w:r><w:tab/></w:r>" if i == 0 and "|" in text else "")
            for i, part in enumerate(text.split("|")))
        body.append(f"<w:p>{ppr}{runs}</w:p>")
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + "".join(body) + "</w:body></w:document>")
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>')
    return content_types, rels, document


def write_docx(path, paragraphs, include_document=True, document_override=None):
    content_types, rels, document = docx(paragraphs)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", rels)
        if include_document:
            archive.writestr("word/document.xml", document_override or document)


if __name__ == "__main__":
    good = pdf([
        ["Write-ahead logging keeps readers and writers apart.", "A checkpoint moves pages back into the database."],
        ["Page two talks about vacuum.", "VACUUM rebuilds the database file."],
    ])
    open("two-pages.pdf", "wb").write(good)
    open("truncated.pdf", "wb").write(good[: len(good) // 3])
    open("not-a-pdf.pdf", "wb").write(b"this is plain text pretending to be a PDF\n")

    paragraphs = [
        ("Title", "Quarry Handbook"),
        ("Heading1", "Installing"),
        (None, "Run make run on a fresh machine."),
        ("Heading2", "Models"),
        (None, "The model is fetched from PyPI.|It is checked by SHA-256."),
        (None, "Caf\u00e9 &amp; cr\u00e8me: entities and accents survive."),
    ]
    write_docx("handbook.docx", paragraphs)
    write_docx("no-document.docx", paragraphs, include_document=False)
    write_docx("bad-xml.docx", paragraphs, document_override="<w:document><w:body><w:p>unclosed")
    data = open("handbook.docx", "rb").read()
    open("truncated.docx", "wb").write(data[: len(data) // 2])
