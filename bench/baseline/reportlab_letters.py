#!/usr/bin/env python3
"""The baseline for bench/letters.py: a comparable dunning letter written the usual
Python way, with ReportLab's platypus, one PDF per customer.

Each letter has what dunwell's has: letterhead, the address in the window, an
information block, a heading and wording in the customer's language, an invoice table
that repeats its header across pages with a total row, a payment slip with a QR code,
page numbers "n / N", fold marks, fonts embedded and subset (ReportLab subsets per
document). Noto Sans for Latin; for Japanese and Chinese the same Noto Sans CJK cut as
dunwell's, converted to TrueType outlines because ReportLab cannot embed CFF fonts
(converted once, cached under bench/out/fonts). Amounts are formatted with plain Python,
not CLDR rules — less work than dunwell does, in the baseline's favour.

Usage: reportlab_letters.py DATA_DIR OUT_DIR [--limit N]  → prints {"letters": n, "bytes": b}
"""
import csv
import json
import os
import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (BaseDocTemplate, Frame, KeepTogether, PageTemplate, Paragraph,
                                Spacer, Table, TableStyle)
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FONTS = os.path.join(ROOT, "templates", "fonts")
CACHE = os.path.join(ROOT, "bench", "out", "fonts")
AS_OF = date(2026, 11, 20)
PAY_BY = AS_OF + timedelta(days=14)
CREDITOR = ["Nordlicht Utilities Europe B.V.", "Keizersgracht 123", "1015 CJ Amsterdam", "Netherlands"]
IBAN, BIC = "NL91ABNA0417164300", "ABNANL2A"


def otf_to_ttf(src, dst):
    """fontTools' otf2ttf recipe: cubic CFF outlines → quadratic glyf."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont as FTFont, newTable

    f = FTFont(src)
    order = f.getGlyphOrder()
    gs = f.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(gs)
        gs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    f["loca"] = newTable("loca")
    f["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del f["CFF "]
    if "VORG" in f:
        del f["VORG"]
    glyf.compile(f)
    for name in order:
        g = glyf[name]
        adv, _ = f["hmtx"][name]
        f["hmtx"][name] = (adv, g.xMin if hasattr(g, "xMin") else 0)
    f["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for k in ["maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
              "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"]:
        setattr(maxp, k, 1 if k == "maxZones" else 0)
    maxp.compile(f)
    post = f["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    f["head"].glyphDataFormat = 0
    f.sfntVersion = "\000\001\000\000"
    f.save(dst)


def register_fonts():
    os.makedirs(CACHE, exist_ok=True)
    pdfmetrics.registerFont(TTFont("Noto", os.path.join(FONTS, "NotoSans-Regular.ttf")))
    pdfmetrics.registerFont(TTFont("Noto-Bold", os.path.join(FONTS, "NotoSans-Bold.ttf")))
    for tag in ["jp", "sc"]:
        ttf = os.path.join(CACHE, f"NotoSansCJK{tag}-Regular.ttf")
        if not os.path.exists(ttf):
            otf_to_ttf(os.path.join(FONTS, f"NotoSansCJK{tag}-Regular.otf"), ttf)
        pdfmetrics.registerFont(TTFont(f"CJK-{tag}", ttf))


TEXT = {
    "en": ("Reminder: your account is overdue", "Dear {name},",
           "according to our records, the following invoices are still open. The total due is {total}.",
           "Please pay the open amount by {pay_by}, by bank transfer with the details below or online: {link}",
           "Kind regards,", "Payment slip", ["Invoice", "Issued", "Due", "Days", "Amount", "Paid", "Open"], "Total"),
    "it": ("Sollecito di pagamento", "Gentile {name},",
           "dai nostri archivi risultano ancora aperte le seguenti fatture, per un totale di {total}.",
           "La preghiamo di saldare l'importo entro il {pay_by}, con bonifico o online: {link}",
           "Cordiali saluti,", "Dati per il pagamento", ["Fattura", "Emessa", "Scadenza", "Giorni", "Importo", "Pagato", "Da pagare"], "Totale"),
    "pl": ("Ponowne wezwanie do zapłaty", "Dzień dobry, {name},",
           "zgodnie z naszą ewidencją poniższe faktury pozostają nieopłacone. Łączna kwota: {total}.",
           "Prosimy o wpłatę do {pay_by} przelewem lub online: {link}",
           "Z poważaniem", "Dane do przelewu", ["Faktura", "Wystawiona", "Termin", "Dni", "Kwota", "Zapłacono", "Do zapłaty"], "Razem"),
    "ro": ("Somație de plată", "Stimate client {name},",
           "conform evidențelor noastre, următoarele facturi sunt încă neachitate. Suma totală: {total}.",
           "Vă rugăm să achitați până la {pay_by}, prin transfer bancar sau online: {link}",
           "Cu stimă,", "Date pentru plată", ["Factura", "Emisă", "Scadentă", "Zile", "Suma", "Plătit", "Rest"], "Total"),
    "lv": ("Atkārtots atgādinājums par maksājumu", "Labdien, {name}!",
           "Saskaņā ar mūsu datiem šie rēķini vēl nav apmaksāti. Kopējā summa: {total}.",
           "Lūdzam samaksāt līdz {pay_by} ar pārskaitījumu vai tiešsaistē: {link}",
           "Ar cieņu", "Maksājuma rekvizīti", ["Rēķins", "Izrakstīts", "Termiņš", "Dienas", "Summa", "Samaksāts", "Jāmaksā"], "Kopā"),
    "ja": ("お支払いの再度のお願い", "{name} 様",
           "平素より格別のお引き立てを賜り、誠にありがとうございます。弊社の記録では、下記のご請求（合計 {total}）のお支払いが確認できておりません。",
           "お手数ですが、{pay_by}までに、下記の振込先へのお振込、またはお客様専用リンクからお支払いをお願いいたします。{link}",
           "敬具", "お振込のご案内", ["請求書番号", "発行日", "支払期日", "経過日数", "請求額", "入金額", "未払額"], "合計"),
    "zh": ("再次付款提醒", "尊敬的{name}：",
           "您好！根据我们的记录，以下发票尚未结清，合计 {total}。",
           "请您于{pay_by}之前，通过下方银行信息转账，或使用您的专属链接在线付款：{link}",
           "此致敬礼", "付款信息", ["发票号", "开票日期", "到期日", "逾期天数", "金额", "已付", "未付"], "合计"),
}


class NumberedCanvas(rl_canvas.Canvas):
    """The usual ReportLab recipe for "page n of N": keep page states, number at save."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._saved = []

    def showPage(self):
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        n = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            self.setFont("Noto", 8)
            self.drawRightString(190 * mm, 15 * mm, f"{self._pageNumber} / {n}")
            super().showPage()
        super().save()


def money(v, cur):
    return f"{v:,.2f} {cur}" if cur not in ("JPY",) else f"{v:,.0f} {cur}"


def letter(path, c, invoices, lang):
    heading, hello, body, pay, bye, slip_title, cols, total_label = TEXT.get(lang, TEXT["en"])
    cjk = lang in ("ja", "zh")
    font = {"ja": "CJK-jp", "zh": "CJK-sc"}.get(lang, "Noto")
    bold = font if cjk else "Noto-Bold"
    cur = invoices[0]["currency"]
    total = sum(Decimal(i["amount"]) - Decimal(i["amount_paid"] or 0) for i in invoices)
    link = f"https://pay.nordlicht.example/p/{c['customer_id']}"
    wrap = "CJK" if cjk else None
    st = ParagraphStyle("b", fontName=font, fontSize=10, leading=13.6, spaceAfter=7, wordWrap=wrap)
    h = ParagraphStyle("h", fontName=bold, fontSize=12, leading=15, spaceAfter=8, wordWrap=wrap)
    address = [c["name"], c["address_line1"], c["address_line2"], c["postal_code"], c["city"], c["country"]]
    address = [a for a in address if a]

    def first_page(cv, doc):
        cv.setFont(bold, 14)
        cv.drawString(25 * mm, 297 * mm - 19 * mm, CREDITOR[0])
        cv.setFont("Noto", 8)
        for k, line in enumerate(CREDITOR[1:]):
            cv.drawRightString(190 * mm, 297 * mm - (18 + 3.5 * k) * mm, line)
        cv.setFont("Noto", 6.5)
        cv.drawString(25 * mm, 297 * mm - 56 * mm, " · ".join(CREDITOR))
        cv.line(25 * mm, 297 * mm - 57 * mm, 100 * mm, 297 * mm - 57 * mm)
        cv.setFont(font, 10)
        for k, line in enumerate(address):
            cv.drawString(25 * mm, 297 * mm - (66 + 4 * k) * mm, line)
        cv.setFont(font, 9)
        for k, line in enumerate([AS_OF.isoformat(), c["customer_id"]]):
            cv.drawString(125 * mm, 297 * mm - (55 + 8 * k) * mm, line)
        for y in (105, 148.5, 210):
            cv.line(3 * mm, 297 * mm - y * mm, 8 * mm, 297 * mm - y * mm)
        footer(cv)

    def later_page(cv, doc):
        cv.setFont(font, 7.5)
        cv.drawString(25 * mm, 297 * mm - 12 * mm, f"{c['name']} · {c['customer_id']}")
        footer(cv)

    def footer(cv):
        cv.setFont("Noto", 7)
        cv.drawString(25 * mm, 15 * mm, f"{CREDITOR[0]} · IBAN {IBAN} · BIC {BIC}")

    doc = BaseDocTemplate(path, pagesize=A4, title=heading, author=CREDITOR[0])
    doc.addPageTemplates([
        PageTemplate("first", [Frame(25 * mm, 24 * mm, 165 * mm, 297 * mm - 98.4 * mm - 24 * mm)],
                     onPage=first_page, autoNextPageTemplate="later"),
        PageTemplate("later", [Frame(25 * mm, 24 * mm, 165 * mm, 297 * mm - 22 * mm - 24 * mm)],
                     onPage=later_page),
    ])
    rows = [cols]
    for i in invoices:
        amt, paid = Decimal(i["amount"]), Decimal(i["amount_paid"] or 0)
        days = (AS_OF - date.fromisoformat(i["due_date"])).days
        rows.append([i["invoice_id"], i["issue_date"], i["due_date"], str(days),
                     money(amt, cur), money(paid, cur), money(amt - paid, cur)])
    rows.append([total_label, "", "", "", "", "", money(total, cur)])
    table = Table(rows, repeatRows=1, colWidths=[w * mm for w in (33, 22, 22, 17, 26, 22, 23)])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 8.2),
        ("FONT", (0, 0), (-1, 0), bold, 8.2),
        ("FONT", (0, -1), (-1, -1), bold, 8.2),
        ("BACKGROUND", (0, 0), (-1, 0), (0.86, 0.86, 0.86)),
        ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, (0, 0, 0)),
    ]))
    qr = QrCodeWidget(f"BCD\n002\n1\nSCT\n{BIC}\n{CREDITOR[0]}\n{IBAN}\nEUR{total:.2f}\n\n\n{c['customer_id']}"
                      if cur == "EUR" else link)
    b = qr.getBounds()
    d = Drawing(34 * mm, 34 * mm, transform=[34 * mm / (b[2] - b[0]), 0, 0, 34 * mm / (b[3] - b[1]), 0, 0])
    d.add(qr)
    slip = Table([[Paragraph(slip_title, h), ""],
                  [Paragraph(f"{escape(CREDITOR[0])}<br/>IBAN {IBAN}<br/>BIC {BIC}<br/><b>{money(total, cur)}</b>"
                             f"<br/>{PAY_BY.isoformat()}<br/>{c['customer_id']}", st), d]],
                 colWidths=[120 * mm, 45 * mm])
    name = escape(c["name"])
    story = [Paragraph(heading, h), Paragraph(hello.format(name=name), st),
             Paragraph(body.format(total=money(total, cur)), st), table, Spacer(1, 8),
             Paragraph(pay.format(pay_by=PAY_BY.isoformat(), link=link), st),
             Paragraph(bye, st), Paragraph(escape(CREDITOR[0]), st), Spacer(1, 12), KeepTogether([slip])]
    doc.build(story, canvasmaker=NumberedCanvas)


def main():
    data, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
    os.makedirs(out, exist_ok=True)
    register_fonts()
    invoices = defaultdict(list)
    with open(os.path.join(data, "invoices.csv"), newline="") as f:
        for i in csv.DictReader(f):
            if i["status"] == "open" and Decimal(i["amount"]) > Decimal(i["amount_paid"] or 0) \
                    and date.fromisoformat(i["due_date"]) < AS_OF:
                invoices[i["customer_id"]].append(i)
    n = size = 0
    with open(os.path.join(data, "customers.csv"), newline="") as f:
        for c in csv.DictReader(f):
            inv = invoices.get(c["customer_id"])
            if not inv:
                continue
            cur = inv[0]["currency"]
            inv = [i for i in inv if i["currency"] == cur]
            path = os.path.join(out, f"{c['customer_id']}.pdf")
            letter(path, c, inv, (c["language"] or "en").split("-")[0])
            n += 1
            size += os.path.getsize(path)
            if limit and n >= limit:
                break
    print(json.dumps({"letters": n, "bytes": size}))


if __name__ == "__main__":
    main()
