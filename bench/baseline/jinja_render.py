#!/usr/bin/env python3
"""The baseline dunwell is measured against: what a team writes with Python, Jinja2
and the standard library's `email` package — one e-mail (plain text + HTML,
multipart/alternative) and one SMS per customer with open invoices, each with an
HMAC-signed payment link, appended to an mbox and a JSONL file.

It does less than `dunwell run` (no segmentation, no contact policy, no time zones,
one English template, no CSS inlining, no locale formatting), so the comparison
flatters it.

Usage: jinja_render.py DATA_DIR OUT_DIR
"""
import base64
import csv
import hashlib
import hmac
import json
import os
import sys
from collections import defaultdict
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import jinja2

TEXT = """Dear {{ name }},

our records show {{ invoices|length }} open invoice{% if invoices|length != 1 %}s{% endif %} totalling {{ total }}:
{% for i in invoices %}
- {{ i.id }}, due {{ i.due }}: {{ i.open }}{% endfor %}

Please pay by {{ pay_by }} here: {{ link }}

If you have already paid, please ignore this message.

Kind regards,
{{ creditor }}
"""

HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="margin:0;padding:0;background:#f4f5f7;font-family:Arial,sans-serif;color:#1d2330;">
<table role="presentation" width="100%" style="background:#f4f5f7;"><tr><td align="center" style="padding:24px;">
<table role="presentation" width="600" style="background:#ffffff;border-radius:6px;">
<tr><td style="padding:20px 28px;border-bottom:3px solid #1f6feb;font-size:18px;font-weight:bold;">{{ creditor }}</td></tr>
<tr><td style="padding:24px 28px;font-size:15px;line-height:1.5;">
<p style="margin:0 0 14px 0;">Dear {{ name }},</p>
<p style="margin:0 0 14px 0;">our records show {{ invoices|length }} open invoices totalling {{ total }}:</p>
<p style="margin:0 0 14px 0;">{% for i in invoices %}- {{ i.id }}, due {{ i.due }}: {{ i.open }}<br>{% endfor %}</p>
<p style="margin:0 0 14px 0;">Please pay by {{ pay_by }} here: <a href="{{ link }}">{{ link }}</a></p>
<p style="margin:22px 0;"><a href="{{ link }}" style="background:#1f6feb;color:#ffffff;padding:12px 22px;border-radius:4px;text-decoration:none;font-weight:bold;">Pay {{ total }}</a></p>
</td></tr>
<tr><td style="padding:14px 28px;font-size:12px;color:#6b7280;border-top:1px solid #e5e7eb;">{{ creditor }}</td></tr>
</table></td></tr></table></body></html>
"""

SMS = "{{ creditor }}: {{ total }} is open on your account. Pay by {{ pay_by }}: {{ short }}"

SECRET = os.environ.get("DUNWELL_LINK_SECRET", "x" * 40).encode()
CREDITOR = "Nordlicht Utilities Europe B.V."
AS_OF = "2026-11-20"


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    env = jinja2.Environment(autoescape=False)
    text_t = env.from_string(TEXT)
    html_t = jinja2.Environment(autoescape=True).from_string(HTML)
    sms_t = env.from_string(SMS)
    customers = {}
    with open(os.path.join(data, "customers.csv"), newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            customers[row["customer_id"]] = row
    open_by_customer = defaultdict(list)
    with open(os.path.join(data, "invoices.csv"), newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            if row["status"] in ("open", "partial") and row["due_date"] < AS_OF:
                amount = Decimal(row["amount"]) - Decimal(row["amount_paid"] or "0")
                if amount > 0:
                    open_by_customer[row["customer_id"]].append((row, amount))
    n = 0
    with open(os.path.join(out, "emails.mbox"), "wb") as mbox, open(os.path.join(out, "sms.jsonl"), "w") as sms_out:
        for cid, invoices in open_by_customer.items():
            c = customers.get(cid)
            if not c:
                continue
            currency = invoices[0][0]["currency"]
            total = sum(a for _, a in invoices)
            claims = f"{cid}|{total}|{currency}|2026-12-20".encode()
            sig = hmac.new(SECRET, claims, hashlib.sha256).digest()
            token = base64.urlsafe_b64encode(claims + sig[:16]).decode().rstrip("=")
            link = f"https://pay.nordlicht.example/p/{token}?utm_source=dunwell&utm_medium=email"
            short = f"https://pay.nordlicht.example/s/{base64.urlsafe_b64encode(sig[:9]).decode()}"
            ctx = {
                "name": c["name"],
                "creditor": CREDITOR,
                "total": f"{currency} {total:,.2f}",
                "pay_by": "4 December 2026",
                "link": link,
                "short": short,
                "invoices": [{"id": r["invoice_id"], "due": r["due_date"], "open": f"{a:,.2f}"} for r, a in invoices],
            }
            subject = f"Payment reminder: {ctx['total']} is open"
            ctx["subject"] = subject
            if c.get("email"):
                msg = EmailMessage()
                msg["From"] = formataddr((CREDITOR, "credit@nordlicht.example"))
                msg["To"] = formataddr((c["name"], c["email"]))
                msg["Subject"] = subject
                msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0100"
                msg["Message-ID"] = make_msgid(domain="nordlicht.example")
                msg.set_content(text_t.render(ctx))
                msg.add_alternative(html_t.render(ctx), subtype="html")
                data_bytes = msg.as_bytes()
                mbox.write(b"From dunwell Mon Nov 23 09:00:00 2026\n")
                mbox.write(data_bytes.replace(b"\nFrom ", b"\n>From "))
                mbox.write(b"\n")
                n += 1
            if c.get("phone"):
                sms_out.write(json.dumps({"id": cid, "to": c["phone"], "text": sms_t.render(ctx)}) + "\n")
                n += 1
    print(json.dumps({"messages": n}))


if __name__ == "__main__":
    main()
