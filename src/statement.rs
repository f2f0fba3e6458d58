//! A statement of account for one customer: every open item with the interest accrued on
//! it, the payments received since the last statement, and the ageing of what is open —
//! per currency, never added across currencies — as a PDF in the letter layout and as an
//! XLSX workbook with the same figures.
//!
//! The wording is a template like the others (`templates/statement/statement.LANG.md`,
//! with `invoice_table()`, `payments_table()` and `ageing_table()`); the table labels
//! come from `templates/letter/labels.yaml` and `templates/words.yaml`.

use crate::campaign::Campaign;
use crate::dataset::{CustomerView, InvoiceStatus, PaymentStatus};
use crate::diag::Diagnostic;
use crate::format::{DateLength, Formats};
use crate::letter::Letters;
use crate::letter::layout::{Table, TablePart};
use crate::letter::words::Words;
use crate::money::Currency;
use crate::templates::Templates;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The period of payments listed when the history knows no earlier statement: the 30
/// days before the campaign date.
pub const PERIOD_DAYS: i64 = 30;

/// The day after which a statement lists payments: the campaign date of the last
/// statement the history store knows delivered to the customer, else [`PERIOD_DAYS`]
/// before the campaign date. `dunwell statement`, statements attached to e-mails and
/// posted ones agree on it, so the same customer gets the same bytes from each.
pub fn since(view: &CustomerView<'_>, as_of: NaiveDate) -> NaiveDate {
    view.customer
        .last_statement
        .filter(|d| *d < as_of)
        .unwrap_or(as_of - chrono::Duration::days(PERIOD_DAYS))
}

/// Days-past-due buckets of the ageing table: not yet due, then up to each bound.
const BUCKETS: [i64; 4] = [0, 30, 60, 90];

/// One open item.
struct Item {
    id: String,
    issued: NaiveDate,
    due: NaiveDate,
    amount: Decimal,
    open: Decimal,
    interest: Decimal,
    compensation: Decimal,
}

/// One payment received in the period.
struct Received {
    date: NaiveDate,
    id: String,
    invoice: String,
    amount: Decimal,
}

/// What a statement says about one currency.
#[derive(Default)]
struct Account {
    items: Vec<Item>,
    payments: Vec<Received>,
}

impl Account {
    fn balance(&self) -> Decimal {
        self.items
            .iter()
            .map(|i| i.open + i.interest + i.compensation)
            .sum()
    }

    /// Open amounts by ageing bucket (interest and compensation count where their
    /// invoice does).
    fn ageing(&self, as_of: NaiveDate) -> [Decimal; 5] {
        let mut out = [Decimal::ZERO; 5];
        for i in &self.items {
            let dpd = (as_of - i.due).num_days();
            let k = BUCKETS.iter().position(|&b| dpd <= b).unwrap_or(4);
            out[k] += i.open + i.interest + i.compensation;
        }
        out
    }
}

/// A statement, made.
pub struct Statement {
    /// The PDF, as a letter: its bytes, and its objects for binding into print.pdf.
    pub letter: crate::letter::Composed,
    /// Its title (the template's first heading), a posted statement's subject.
    pub title: String,
    pub xlsx: Vec<u8>,
    /// The balance per currency, for the caller to say.
    pub balances: Vec<(Currency, Decimal)>,
}

/// What making statements needs, loaded once.
pub struct Maker<'a> {
    pub campaign: &'a Campaign,
    pub letters: &'a Letters,
    pub templates: &'a Templates,
    pub formats: &'a Formats,
    pub words: &'a Words,
    pub addresses: &'a crate::letter::address::Addresses,
}

impl Maker<'_> {
    /// The statement of one customer as of the campaign date; payments are those dated
    /// after `since` up to that date.
    pub fn make(
        &self,
        view: &CustomerView<'_>,
        locale: &str,
        since: NaiveDate,
    ) -> Result<Statement, Diagnostic> {
        let accounts = self.accounts(view, since)?;
        let (letter, title) = self.pdf(view, locale, since, &accounts)?;
        let xlsx = self.xlsx(view, locale, since, &accounts).map_err(|e| {
            Diagnostic::whole_file(&self.campaign.path, format!("the statement workbook: {e}"))
        })?;
        Ok(Statement {
            letter,
            title,
            xlsx,
            balances: accounts.iter().map(|(c, a)| (*c, a.balance())).collect(),
        })
    }

    fn accounts(
        &self,
        view: &CustomerView<'_>,
        since: NaiveDate,
    ) -> Result<BTreeMap<Currency, Account>, Diagnostic> {
        let as_of = self.campaign.as_of;
        let mut out: BTreeMap<Currency, Account> = BTreeMap::new();
        for (n, inv) in view.invoices.iter().enumerate() {
            let open = inv.open_amount();
            if inv.status != InvoiceStatus::Open || open.is_zero() || inv.issue_date > as_of {
                continue;
            }
            let k = view.invoice_base + n as u32;
            let (interest, compensation) = match &self.campaign.interest {
                Some(i) => i
                    .claimed(as_of, view, k, inv, i.demand_letter(inv))
                    .map_err(|gap| {
                        Diagnostic::whole_file(&self.campaign.path, format!("interest: {gap}"))
                    })?,
                None => (Decimal::ZERO, Decimal::ZERO),
            };
            out.entry(inv.currency).or_default().items.push(Item {
                id: inv.id.to_string(),
                issued: inv.issue_date,
                due: inv.due_date,
                amount: inv.amount,
                open,
                interest,
                compensation,
            });
        }
        for p in view.payments {
            if p.status != PaymentStatus::Ok || p.date <= since || p.date > as_of {
                continue;
            }
            // A payment is in its invoice's currency; one on account in the customer's
            // first invoice's.
            let inv = p
                .invoice
                .and_then(|k| view.invoices.get((k - view.invoice_base) as usize));
            let Some(currency) = inv
                .map(|i| i.currency)
                .or_else(|| view.invoices.first().map(|i| i.currency))
            else {
                continue;
            };
            out.entry(currency).or_default().payments.push(Received {
                date: p.date,
                id: p.id.to_string(),
                invoice: inv.map(|i| i.id.to_string()).unwrap_or_default(),
                amount: p.amount,
            });
        }
        for a in out.values_mut() {
            a.items.sort_by(|x, y| (x.due, &x.id).cmp(&(y.due, &y.id)));
            a.payments
                .sort_by(|x, y| (x.date, &x.id).cmp(&(y.date, &y.id)));
        }
        Ok(out)
    }

    fn pdf(
        &self,
        view: &CustomerView<'_>,
        locale: &str,
        since: NaiveDate,
        accounts: &BTreeMap<Currency, Account>,
    ) -> Result<(crate::letter::Composed, String), Diagnostic> {
        let as_of = self.campaign.as_of;
        let labels = self.letters.labels(locale);
        let words = self.words.get(locale);
        let short = |d| self.formats.date(d, DateLength::Short, locale);
        let long = |d| self.formats.date(d, DateLength::Long, locale);
        let mut items = Vec::new();
        let mut payments = Vec::new();
        let mut ageing = Vec::new();
        for (cur, a) in accounts {
            let money = |d| self.formats.money(d, *cur, locale);
            let mut rows = Vec::new();
            let mut amount = Decimal::ZERO;
            for i in &a.items {
                amount += i.amount;
                rows.push(vec![
                    i.id.clone(),
                    short(i.issued),
                    short(i.due),
                    (as_of - i.due).num_days().to_string(),
                    money(i.amount),
                    money(i.amount - i.open),
                    money(i.open),
                ]);
            }
            let (interest, comp): (Decimal, Decimal) = a
                .items
                .iter()
                .fold((Decimal::ZERO, Decimal::ZERO), |(x, y), i| {
                    (x + i.interest, y + i.compensation)
                });
            let row = |label: String, d: Decimal| {
                let mut r = vec![label];
                r.extend(std::iter::repeat_n(String::new(), 5));
                r.push(money(d));
                r
            };
            if !interest.is_zero() {
                rows.push(row(
                    words.interest_row.replace("{date}", &short(as_of)),
                    interest,
                ));
            }
            if !comp.is_zero() {
                rows.push(row(words.compensation_row.clone(), comp));
            }
            let open: Decimal = a.items.iter().map(|i| i.open).sum();
            items.push(TablePart {
                rows,
                total: vec![
                    labels.total.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    money(amount),
                    money(amount - open),
                    money(a.balance()),
                ],
            });
            if !a.payments.is_empty() {
                payments.push(TablePart {
                    rows: a
                        .payments
                        .iter()
                        .map(|p| {
                            vec![
                                short(p.date),
                                p.id.clone(),
                                p.invoice.clone(),
                                money(p.amount),
                            ]
                        })
                        .collect(),
                    total: vec![
                        labels.total.clone(),
                        String::new(),
                        String::new(),
                        money(a.payments.iter().map(|p| p.amount).sum()),
                    ],
                });
            }
            let buckets = a.ageing(as_of);
            ageing.push(TablePart {
                rows: buckets
                    .iter()
                    .zip(words.ageing_buckets())
                    .map(|(d, label)| vec![label, money(*d)])
                    .collect(),
                total: vec![labels.total.clone(), money(a.balance())],
            });
        }
        let tables = vec![
            crate::letter::invoice_table(labels, items),
            Table {
                header: vec![
                    labels.date.clone(),
                    words.payment.clone(),
                    labels.invoice.clone(),
                    labels.amount.clone(),
                ],
                parts: payments,
                widths: vec![1.4, 2.4, 2.4, 1.8],
                first_number: 3,
            },
            Table {
                header: vec![words.overdue.clone(), labels.open.clone()],
                parts: ageing,
                widths: vec![3.0, 2.0],
                first_number: 1,
            },
        ];
        let balance = self.formats.and_list(
            accounts
                .iter()
                .map(|(c, a)| self.formats.money(a.balance(), *c, locale))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
            locale,
        );
        let c = view.customer;
        let mut ctx = tera::Context::new();
        ctx.insert(
            "customer",
            &serde_json::json!({"id": c.id(), "name": c.name(), "kind": c.kind.map_or("", |k| k.as_str())}),
        );
        ctx.insert("creditor", &self.campaign.creditor);
        ctx.insert(
            "campaign",
            &serde_json::json!({"name": self.campaign.name, "as_of": long(as_of)}),
        );
        ctx.insert("since", &long(since));
        ctx.insert("balance", &balance);
        ctx.insert(
            "payments",
            &accounts.values().any(|a| !a.payments.is_empty()),
        );
        ctx.insert("locale", locale);
        ctx.insert(
            "currency",
            accounts.keys().next().map_or("EUR", |c| c.code()),
        );
        let name = self.template(locale)?;
        let markdown = self.templates.render(&name, &ctx)?;
        let title = crate::letter::title_of(&markdown);
        let recipient = self
            .addresses
            .recipient(c, self.campaign.creditor.country.as_deref());
        let id = format!("{}-statement", c.id());
        let letter = crate::letter::Letter {
            id: &id,
            locale,
            markdown: &markdown,
            creditor: &self.campaign.creditor,
            recipient: recipient.lines,
            recipient_name: recipient.name_line,
            customer_id: c.id(),
            date: long(as_of),
            date_unix: as_of
                .and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp()),
            tables,
            slips: Vec::new(),
            reference: crate::payment::reference::Reference::for_customer(c.id())
                .as_str()
                .to_string(),
            title: title.clone(),
            keep: vec![long(as_of), long(since)],
            closing: &words.closing,
            enclosed: false,
        };
        let composed = self.letters.compose(&letter).map_err(|e| {
            Diagnostic::whole_file(self.templates.root().join(&name), e.to_string())
        })?;
        Ok((composed, title))
    }

    /// The statement template for a locale: its own, its language's, the campaign's
    /// default language's, English.
    fn template(&self, locale: &str) -> Result<String, Diagnostic> {
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        let default = self.campaign.locales.default.as_str();
        [locale, lang, default, "en"]
            .iter()
            .map(|l| format!("statement/statement.{l}.md"))
            .find(|n| self.templates.has(n))
            .ok_or_else(|| {
                Diagnostic::whole_file(
                    self.templates.root().join("statement"),
                    format!("no statement template for {locale} (expected statement/statement.{lang}.md or statement.en.md)"),
                )
            })
    }

    /// The same figures as a workbook: one sheet, a block per currency. Amounts are
    /// numbers (a spreadsheet's are binary doubles: each is written from its decimal's
    /// shortest spelling, exact for amounts in cents) in the currency's format, dates
    /// are dates; the document's dates are the campaign date, so the bytes depend on the
    /// data alone.
    fn xlsx(
        &self,
        view: &CustomerView<'_>,
        locale: &str,
        since: NaiveDate,
        accounts: &BTreeMap<Currency, Account>,
    ) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
        let as_of = self.campaign.as_of;
        let labels = self.letters.labels(locale);
        let words = self.words.get(locale);
        let c = view.customer;
        let date = |d: NaiveDate| {
            ExcelDateTime::from_ymd(d.year_ce().1 as u16, d.month() as u8, d.day() as u8)
        };
        use chrono::Datelike;
        let mut wb = Workbook::new();
        let when = date(as_of)?;
        wb.set_properties(
            &DocProperties::new()
                .set_title(format!("{} — {}", words.statement, c.name()))
                .set_author(&self.campaign.creditor.name)
                .set_creation_datetime(&when),
        );
        let bold = Format::new().set_bold();
        let day = Format::new().set_num_format("yyyy-mm-dd");
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&words.statement))?;
        ws.set_column_width(0, 22)?;
        for col in 1..7 {
            ws.set_column_width(col, 14)?;
        }
        let num = |d: Decimal| -> f64 { d.normalize().to_string().parse().unwrap_or(0.0) };
        let mut r: u32 = 0;
        ws.write_string_with_format(r, 0, &words.statement, &bold)?;
        r += 1;
        ws.write_string(r, 0, &self.campaign.creditor.name)?;
        r += 1;
        ws.write_string(r, 0, &labels.customer)?;
        ws.write_string(r, 1, c.id())?;
        ws.write_string(r, 2, c.name())?;
        r += 1;
        ws.write_string(r, 0, &labels.date)?;
        ws.write_datetime_with_format(r, 1, &when, &day)?;
        r += 1;
        ws.write_string(r, 0, &words.payments_since)?;
        ws.write_datetime_with_format(r, 1, &date(since)?, &day)?;
        r += 2;
        for (cur, a) in accounts {
            let money = Format::new().set_num_format(money_format(*cur));
            let money_bold = money.clone().set_bold();
            ws.write_string_with_format(r, 0, cur.code(), &bold)?;
            r += 1;
            for (k, h) in labels.invoice_header().iter().enumerate() {
                ws.write_string_with_format(r, k as u16, *h, &bold)?;
            }
            r += 1;
            for i in &a.items {
                ws.write_string(r, 0, &i.id)?;
                ws.write_datetime_with_format(r, 1, &date(i.issued)?, &day)?;
                ws.write_datetime_with_format(r, 2, &date(i.due)?, &day)?;
                ws.write_number(r, 3, (as_of - i.due).num_days() as f64)?;
                ws.write_number_with_format(r, 4, num(i.amount), &money)?;
                ws.write_number_with_format(r, 5, num(i.amount - i.open), &money)?;
                ws.write_number_with_format(r, 6, num(i.open), &money)?;
                r += 1;
            }
            let interest: Decimal = a.items.iter().map(|i| i.interest).sum();
            let comp: Decimal = a.items.iter().map(|i| i.compensation).sum();
            if !interest.is_zero() {
                ws.write_string(
                    r,
                    0,
                    words.interest_row.replace("{date}", &as_of.to_string()),
                )?;
                ws.write_number_with_format(r, 6, num(interest), &money)?;
                r += 1;
            }
            if !comp.is_zero() {
                ws.write_string(r, 0, &words.compensation_row)?;
                ws.write_number_with_format(r, 6, num(comp), &money)?;
                r += 1;
            }
            ws.write_string_with_format(r, 0, &labels.total, &bold)?;
            ws.write_number_with_format(r, 6, num(a.balance()), &money_bold)?;
            r += 2;
            if !a.payments.is_empty() {
                ws.write_string_with_format(r, 0, &words.payments_since, &bold)?;
                r += 1;
                for (k, h) in [
                    &labels.date,
                    &words.payment,
                    &labels.invoice,
                    &labels.amount,
                ]
                .iter()
                .enumerate()
                {
                    ws.write_string_with_format(r, k as u16, *h, &bold)?;
                }
                r += 1;
                for p in &a.payments {
                    ws.write_datetime_with_format(r, 0, &date(p.date)?, &day)?;
                    ws.write_string(r, 1, &p.id)?;
                    ws.write_string(r, 2, &p.invoice)?;
                    ws.write_number_with_format(r, 3, num(p.amount), &money)?;
                    r += 1;
                }
                r += 1;
            }
            ws.write_string_with_format(r, 0, &words.overdue, &bold)?;
            ws.write_string_with_format(r, 1, &labels.open, &bold)?;
            r += 1;
            for (d, label) in a.ageing(as_of).iter().zip(words.ageing_buckets()) {
                ws.write_string(r, 0, &label)?;
                ws.write_number_with_format(r, 1, num(*d), &money)?;
                r += 1;
            }
            r += 1;
        }
        wb.save_to_buffer()
    }
}

/// Excel's number format for a currency: its minor units, its code after the number.
fn money_format(c: Currency) -> String {
    let decimals = c.minor_units();
    let frac = if decimals == 0 {
        String::new()
    } else {
        format!(".{}", "0".repeat(decimals as usize))
    };
    format!("#,##0{frac} \"{}\"", c.code())
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(s: &str) -> String {
    s.chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}
