#!/usr/bin/env python3
"""Writes tests/fixtures/import/: one export in the shapes dunwell reads through a
mapping (tests/import.rs), from the first customers of samples/data (of distinct names).

- customers.csv, payments.csv, events.csv: dunwell's own columns, shared by every shape;
- invoices-export.csv: the invoices as an ERP writes them: its own headers, `;`, decimal
  commas, dates as 31.03.2026;
- export.xlsx: sheet Customers (dunwell's headers, typed cells) and sheet Invoices (the
  export's headers; invoice dates as date cells, due dates as text, amounts as numbers);
- export-1904.xlsx: the same in the 1904 date system, due dates as plain serial numbers;
- export.ods: the same as an OpenDocument spreadsheet;
- bad.xlsx: export.xlsx with 12.345 EUR on row 4 of Invoices;
- numeric-ids.xlsx: export.xlsx with the invoice numbers as number cells;
- xero/ and quickbooks/: the same invoices as Xero's and QuickBooks Online's exports
  (one row per line item), with a campaign each.

Run from the repository root: `python3 scripts/import-fixtures.py` (needs openpyxl;
scripts/test installs it). The files are committed; tests/import.rs writes them again
into a temporary folder (`OUT=DIR`) and checks that they are what is committed.
"""

import csv
import datetime
import os
import re
import zipfile
from decimal import Decimal
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

N = 40
SRC = "samples/data"
OUT = os.environ.get("OUT", "tests/fixtures/import")
# A fixed timestamp inside every zip: the same input writes the same bytes.
FIXED = (2026, 1, 1, 0, 0, 0)


def read(name):
    with open(os.path.join(SRC, name), newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [dict(zip(header, row)) for row in r]


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])


def iso(s):
    return datetime.date.fromisoformat(s)


def dotted(d):
    return d.strftime("%d.%m.%Y")


def comma(s):
    return s.replace(".", ",")


def number(s):
    return float(Decimal(s))


def serial_1904(d):
    return (d - datetime.date(1904, 1, 1)).days


cust_header, customers = read("customers.csv")
# The first N customers of distinct names: Xero and QuickBooks know a customer by name.
named = []
for c in customers:
    if len(named) < N and all(o["name"] != c["name"] for o in named):
        named.append(c)
customers = named
ids = {c["customer_id"] for c in customers}
inv_header, invoices = read("invoices.csv")
invoices = [i for i in invoices if i["customer_id"] in ids]
pay_header, payments = read("payments.csv")
payments = [p for p in payments if p["customer_id"] in ids]
ev_header, events = read("events.csv")
events = [e for e in events if e["customer_id"] in ids]

os.makedirs(OUT, exist_ok=True)
write_csv(f"{OUT}/customers.csv", cust_header, customers)
write_csv(f"{OUT}/payments.csv", pay_header, payments)
write_csv(f"{OUT}/events.csv", ev_header, events)

EXPORT = ["Invoice No", "Customer No", "Invoice Date", "Due Date", "Total", "Currency",
          "Paid", "Status", "Disputed"]
with open(f"{OUT}/invoices-export.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, delimiter=";", lineterminator="\r\n")
    w.writerow(EXPORT)
    for i in invoices:
        w.writerow([i["invoice_id"], i["customer_id"], dotted(iso(i["issue_date"])),
                    dotted(iso(i["due_date"])), comma(i["amount"]), i["currency"],
                    comma(i["amount_paid"] or "0"), i["status"], i["disputed"]])


def customer_cells(c):
    out = []
    for h in cust_header:
        v = c[h]
        if h.startswith("consent_") and v in ("true", "false"):
            out.append(v == "true")
        elif h == "credit_limit" and v:
            out.append(number(v))
        else:
            out.append(v or None)
    return out


def invoice_cells(i, system="1900"):
    due = iso(i["due_date"])
    return [i["invoice_id"], i["customer_id"], iso(i["issue_date"]),
            serial_1904(due) if system == "1904" else dotted(due),
            number(i["amount"]), i["currency"], number(i["amount_paid"] or "0"),
            i["status"], i["disputed"] == "true"]


def workbook(system="1900", edit=None):
    wb = Workbook()
    if system == "1904":
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "Customers"
    ws.append(cust_header)
    for c in customers:
        ws.append(customer_cells(c))
    ws = wb.create_sheet("Invoices")
    ws.append(EXPORT)
    for i in invoices:
        ws.append(invoice_cells(i, system))
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=3):
        row[0].number_format = "yyyy-mm-dd"
    if edit:
        edit(ws)
    return wb


def save(wb, name):
    path = f"{OUT}/{name}"
    wb.save(path)
    normalise_zip(path)


def normalise_zip(path):
    """openpyxl stamps the time of writing into docProps/core.xml and every zip entry:
    rewritten with a fixed time, the same input gives the same bytes."""
    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", data)
            z.writestr(zipfile.ZipInfo(name, FIXED), data, zipfile.ZIP_DEFLATED)


save(workbook(), "export.xlsx")
save(workbook("1904"), "export-1904.xlsx")


def bad(ws):
    # Row 4: an EUR invoice with three decimals, as a double.
    ws["A4"].value  # the invoice
    ws["E4"] = 12.345
    ws["F4"] = "EUR"


save(workbook(edit=bad), "bad.xlsx")


def numeric_ids(ws):
    for k, row in enumerate(ws.iter_rows(min_row=2, min_col=1, max_col=1)):
        row[0].value = 1001 + k


save(workbook(edit=numeric_ids), "numeric-ids.xlsx")


# ---------------------------------------------------------------------------------------
# ODS: written by hand (a zip of XML), typed as OpenDocument types cells.

def ods_cell(v):
    if v is None:
        return "<table:table-cell/>"
    if isinstance(v, bool):
        t = "true" if v else "false"
        return f'<table:table-cell office:value-type="boolean" office:boolean-value="{t}"><text:p>{t.upper()}</text:p></table:table-cell>'
    if isinstance(v, (int, float)):
        return f'<table:table-cell office:value-type="float" office:value="{v!r}"><text:p>{v!r}</text:p></table:table-cell>'
    if isinstance(v, datetime.date):
        return f'<table:table-cell office:value-type="date" office:date-value="{v.isoformat()}"><text:p>{v.isoformat()}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'


def ods_table(name, rows):
    body = "".join("<table:table-row>" + "".join(ods_cell(v) for v in r) + "</table:table-row>" for r in rows)
    return f'<table:table table:name="{name}">{body}</table:table>'


content = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet>"
    + ods_table("Customers", [cust_header] + [customer_cells(c) for c in customers])
    + ods_table("Invoices", [EXPORT] + [invoice_cells(i) for i in invoices])
    + "</office:spreadsheet></office:body></office:document-content>"
)
manifest = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
with zipfile.ZipFile(f"{OUT}/export.ods", "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype", FIXED), "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
    z.writestr(zipfile.ZipInfo("META-INF/manifest.xml", FIXED), manifest, zipfile.ZIP_DEFLATED)
    z.writestr(zipfile.ZipInfo("content.xml", FIXED), content, zipfile.ZIP_DEFLATED)


# ---------------------------------------------------------------------------------------
# Presets: the same open invoices as Xero and QuickBooks Online export them, one row per
# line item (an invoice split into two lines where its amount allows).

def lines(amount):
    a = Decimal(amount)
    if a >= 100:
        first = (a * Decimal("0.6")).quantize(Decimal("0.01"))
        return [first, a - first]
    return [a]


by_id = {c["customer_id"]: c for c in customers}
XERO = ("ContactName,EmailAddress,POAddressLine1,POAddressLine2,POAddressLine3,POAddressLine4,"
        "POCity,PORegion,POPostalCode,POCountry,SAAddressLine1,SAAddressLine2,SAAddressLine3,"
        "SAAddressLine4,SACity,SARegion,SAPostalCode,SACountry,InvoiceNumber,Reference,"
        "InvoiceDate,DueDate,PlannedDate,Total,TaxTotal,InvoiceAmountPaid,InvoiceAmountDue,"
        "InventoryItemCode,Description,Quantity,UnitAmount,Discount,LineAmount,AccountCode,"
        "TaxType,TaxAmount,TrackingName1,TrackingOption1,TrackingName2,TrackingOption2,"
        "Currency,Type,Sent,Status").split(",")
os.makedirs(f"{OUT}/xero", exist_ok=True)
with open(f"{OUT}/xero/SalesInvoices.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(XERO)
    for i in invoices:
        if i["status"] == "cancelled":
            continue
        c = by_id[i["customer_id"]]
        paid = Decimal(i["amount_paid"] or "0")
        due = Decimal(i["amount"]) - paid
        status = "Paid" if i["status"] == "paid" else "Awaiting Payment"
        for k, amount in enumerate(lines(i["amount"])):
            row = dict.fromkeys(XERO, "")
            row.update({
                "ContactName": c["name"], "EmailAddress": c["email"],
                "POAddressLine1": c["address_line1"], "POAddressLine2": c["address_line2"],
                "POCity": c["city"], "PORegion": c["region"], "POPostalCode": c["postal_code"],
                "POCountry": c["country"], "InvoiceNumber": i["invoice_id"],
                "InvoiceDate": iso(i["issue_date"]).strftime("%d/%m/%Y"),
                "DueDate": iso(i["due_date"]).strftime("%d/%m/%Y"),
                "Total": f"{Decimal(i['amount']):.4f}", "TaxTotal": "0.0000",
                "InvoiceAmountPaid": f"{paid:.4f}", "InvoiceAmountDue": f"{due:.4f}",
                "Description": f"Service, part {k + 1}", "Quantity": "1.0000",
                "UnitAmount": f"{amount:.4f}", "LineAmount": f"{amount:.4f}",
                "AccountCode": "200", "TaxType": "No VAT", "TaxAmount": "0.0000",
                "Currency": i["currency"], "Type": "Sales invoice", "Sent": "Sent",
                "Status": status,
            })
            w.writerow([row[h] for h in XERO])
    # Rows the preset leaves out: a credit note and a draft.
    c = customers[0]
    for typ, number, status in [("Sales credit note", "CN-0001", "Awaiting Payment"),
                                ("Sales invoice", "INV-DRAFT-1", "Draft")]:
        row = dict.fromkeys(XERO, "")
        row.update({"ContactName": c["name"], "InvoiceNumber": number,
                    "InvoiceDate": "01/11/2026", "DueDate": "15/11/2026", "Total": "10.0000",
                    "InvoiceAmountPaid": "0.0000", "LineAmount": "10.0000",
                    "Currency": "GBP", "Type": typ, "Status": status})
        w.writerow([row[h] for h in XERO])

QBO = ["InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Location", "Memo",
       "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount",
       "ItemTaxCode", "ItemTaxAmount", "Currency", "Service Date"]
os.makedirs(f"{OUT}/quickbooks", exist_ok=True)
with open(f"{OUT}/quickbooks/invoices.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(QBO)
    for i in invoices:
        if i["status"] != "open":
            continue
        c = by_id[i["customer_id"]]
        for k, amount in enumerate(lines(i["amount"])):
            first = k == 0
            w.writerow([
                i["invoice_id"], c["name"] if first else "",
                iso(i["issue_date"]).strftime("%m/%d/%Y") if first else "",
                iso(i["due_date"]).strftime("%m/%d/%Y") if first else "",
                "Net 14" if first else "", "", "", "Services", f"Service, part {k + 1}", "1",
                f"{amount:.2f}", f"{amount:.2f}", "", "", i["currency"], "",
            ])

# The customers' contacts, keyed by the name QuickBooks invoices carry (a customer list
# exported from QuickBooks, read through a campaign's own `columns:`).
with open(f"{OUT}/quickbooks/customers.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(["Customer", "Email", "Phone", "Billing Street", "Billing City", "Billing ZIP",
                "Billing Country", "Language"])
    for c in customers:
        w.writerow([c["name"], c["email"], c["phone"], c["address_line1"], c["city"],
                    c["postal_code"], c["country"], c["language"]])
