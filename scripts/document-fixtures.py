#!/usr/bin/env python3
"""Writes the original invoices of tests/fixtures/documents/: tiny real PDFs (one page of
Helvetica text each, the second invoice two pages, one in a page tree two levels deep so
that inherited page attributes are exercised) and an XML e-invoice.

Deterministic: no dates, no random IDs; running it again gives the same bytes. Python's
standard library only.

    python3 scripts/document-fixtures.py
"""

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/documents/documents"


def pdf(lines_per_page, nested=False):
    """A PDF whose pages show `lines_per_page` (a list of lists of ASCII lines)."""
    objects = []  # bodies, object k + 1 at index k

    def add(body):
        objects.append(body)
        return len(objects)

    catalog = add(None)
    root = add(None)
    font = add(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>")
    pages = []
    for lines in lines_per_page:
        ops = [b"BT /F1 14 Tf 72 760 Td 18 TL"]
        for line in lines:
            text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(b"(" + text.encode("latin-1") + b") '")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<</Length %d>>\nstream\n" % len(stream) + stream + b"\nendstream")
        pages.append(add(content))  # the page, filled in below
    if nested:
        # Resources and MediaBox on an intermediate node only: the page inherits them.
        middle = add(None)
        for p in pages:
            objects[p - 1] = b"<</Type/Page/Parent %d 0 R/Contents %d 0 R>>" % (
                middle,
                objects[p - 1],
            )
        kids = b" ".join(b"%d 0 R" % p for p in pages)
        objects[middle - 1] = (
            b"<</Type/Pages/Parent %d 0 R/Kids[%s]/Count %d"
            b"/MediaBox[0 0 595 842]/Resources<</Font<</F1 %d 0 R>>>>>>"
            % (root, kids, len(pages), font)
        )
        objects[root - 1] = b"<</Type/Pages/Kids[%d 0 R]/Count %d>>" % (middle, len(pages))
    else:
        for p in pages:
            objects[p - 1] = (
                b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]"
                b"/Resources<</Font<</F1 %d 0 R>>>>/Contents %d 0 R>>"
                % (root, font, objects[p - 1])
            )
        kids = b" ".join(b"%d 0 R" % p for p in pages)
        objects[root - 1] = b"<</Type/Pages/Kids[%s]/Count %d>>" % (kids, len(pages))
    objects[catalog - 1] = b"<</Type/Catalog/Pages %d 0 R>>" % root

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<</Size %d/Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        xref,
    )
    return bytes(out)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "D-EN-1.pdf").write_bytes(
        pdf([["Nordlicht Utilities Europe B.V.", "INVOICE D-EN-1 AS ISSUED", "Total EUR 120.00"]])
    )
    (OUT / "Faktura \u017c D-PL-1.pdf").write_bytes(
        pdf(
            [
                ["Nordlicht Utilities Europe B.V.", "FAKTURA D-PL-1 PAGE ONE", "Razem PLN 800.00"],
                ["FAKTURA D-PL-1 PAGE TWO", "Warunki platnosci"],
            ],
            nested=True,
        )
    )
    (OUT / "D-PL-2.pdf").write_bytes(
        pdf([["Nordlicht Utilities Europe B.V.", "INVOICE D-PL-2 IN EURO", "Total EUR 75.00"]])
    )
    (OUT / "FV-D-XML-1.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">\n'
        b"  <ID>D-XML-1</ID>\n"
        b"  <IssueDate>2026-09-01</IssueDate>\n"
        b'  <LegalMonetaryTotal><PayableAmount currencyID="EUR">99.00</PayableAmount></LegalMonetaryTotal>\n'
        b"</Invoice>\n"
    )


if __name__ == "__main__":
    main()
