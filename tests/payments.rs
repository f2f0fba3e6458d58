//! Payments received after the export (issue 14): `send --payments` cancels the e-mails
//! of customers who paid between `run` and `send` — sent to a real SMTP server on
//! loopback (tests/smtp/server.py, as the send tests do) — and `outbox cutoff` takes
//! their letters out of print.pdf (read back with pdftotext, pdfinfo and qpdf) and
//! withdraws their payment pages. The statements are written here from the outbox's own
//! manifest (names, amounts, currencies), in the three formats dunwell reads.

use crate::send::{Server, emails, journal, send};
use crate::util::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One message's claim, from the manifest.
#[derive(Clone, Debug)]
struct Claim {
    id: String,
    customer: String,
    name: String,
    amount: String,
    currency: String,
}

fn claims(out: &Path, channel: &str) -> Vec<Claim> {
    manifest(out)
        .into_iter()
        .filter(|e| e["channel"] == channel)
        .map(|e| Claim {
            id: e["id"].as_str().unwrap().into(),
            customer: e["customer_id"].as_str().unwrap().into(),
            name: e["name"]
                .as_str()
                .expect("the manifest has the name")
                .into(),
            amount: e["amount"].as_str().unwrap().into(),
            currency: e["currency"].as_str().unwrap().into(),
        })
        .collect()
}

/// The RF creditor reference the customer's letters and pages carry.
fn rf(customer: &str) -> String {
    dunwell::payment::reference::Reference::for_customer(customer)
        .as_str()
        .to_string()
}

/// One `Ntry` of a camt.053: (amount, currency, structured reference, debtor's name).
fn camt053(entries: &[(&str, &str, Option<&str>, &str)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n<BkToCstmrStmt>\n<GrpHdr><MsgId>T1</MsgId><CreDtTm>2026-11-26T06:00:00</CreDtTm></GrpHdr>\n<Stmt><Id>S1</Id>\n",
    );
    for (amount, ccy, reference, name) in entries {
        let rmt = match reference {
            Some(r) => format!(
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{r}</Ref></CdtrRefInf></Strd>"
            ),
            None => "<Ustrd>thank you</Ustrd>".into(),
        };
        s.push_str(&format!(
            "<Ntry>\n<Amt Ccy=\"{ccy}\">{amount}</Amt>\n<CdtDbtInd>CRDT</CdtDbtInd>\n<Sts>BOOK</Sts>\n<BookgDt><Dt>2026-11-25</Dt></BookgDt>\n<NtryDtls><TxDtls>\n<RltdPties><Dbtr><Nm>{name}</Nm></Dbtr></RltdPties>\n<RmtInf>{rmt}</RmtInf>\n</TxDtls></NtryDtls>\n</Ntry>\n"
        ));
    }
    s.push_str("</Stmt>\n</BkToCstmrStmt>\n</Document>\n");
    s
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The name as a bank statement may have it: upper case, words the other way round.
fn as_the_bank_writes_it(name: &str) -> String {
    let mut words: Vec<&str> = name.split_whitespace().collect();
    words.reverse();
    words.join(" ").to_uppercase()
}

fn count(summary: &serde_json::Value, state: &str) -> u64 {
    summary["delivery"]["states"][state].as_u64().unwrap_or(0)
}

#[test]
fn send_cancels_the_emails_of_customers_who_paid_between_run_and_send() {
    let dir = tempdir();
    let campaign = small_campaign(dir.path(), false);
    let out = outbox_of(campaign.to_str().unwrap(), &[]);
    let all = claims(out.path(), "email");
    assert!(all.len() > 20, "{} e-mails", all.len());
    // Customers with distinct names, so that amount and name single one out.
    let mut seen = BTreeSet::new();
    let picked: Vec<&Claim> = all
        .iter()
        .filter(|c| seen.insert(c.name.clone()) && c.name.split_whitespace().count() >= 2)
        .take(5)
        .collect();
    let [paid_rf, part_rf, paid_name, early, paid_csv] = picked[..] else {
        panic!("five customers")
    };
    let files = tempdir();
    // camt.053: the whole amount with the RF reference; the whole amount with no
    // reference (amount and name); a payment nobody can be told from.
    let camt = write(
        files.path(),
        "camt053.xml",
        &camt053(&[
            (
                &paid_rf.amount,
                &paid_rf.currency,
                Some(&rf(&paid_rf.customer)),
                "Someone Else",
            ),
            (
                &paid_name.amount,
                &paid_name.currency,
                None,
                &as_the_bank_writes_it(&paid_name.name),
            ),
            ("1.23", "EUR", None, "Nobody We Know"),
        ]),
    );
    // MT940: one unit of the claim, the reference in a :86: over two lines.
    let reference = rf(&part_rf.customer);
    let (head, tail) = reference.split_at(6);
    let mt940 = write(
        files.path(),
        "statement.mt940",
        &format!(
            ":20:STMT1\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C261124{cur}100,00\n:61:2611251125C1,NTRFNONREF\n:86:?20SVWZ+{head}\n{tail}?32SOMEONE\n:62F:C261125{cur}101,00\n",
            cur = part_rf.currency
        ),
    );
    // payments.csv as the export has it (no currency): one paid on the export's day
    // (the export has it already), one paid after it, in two parts.
    let csv = write(
        files.path(),
        "payments.csv",
        &format!(
            "payment_id,customer_id,invoice_id,date,amount,method,status\n\
             X1,{},,2026-11-20,{},transfer,ok\n\
             X2,{},,2026-11-22,{},card,ok\n\
             X3,{},,2026-11-23,{},card,ok\n\
             X4,{},,2026-11-23,{},card,bounced\n",
            early.customer,
            early.amount,
            paid_csv.customer,
            paid_csv.amount,
            paid_csv.customer,
            "0",
            paid_csv.customer,
            paid_csv.amount,
        )
        .replace(",0,card,ok", ",0.00,card,ok"),
    );
    let server = Server::start(&[]);
    let payments = [&camt, &mt940, &csv].map(|p| p.to_str().unwrap().to_string());
    let mut args = vec![];
    for p in &payments {
        args.push("--payments");
        args.push(p.as_str());
    }
    let r = send(out.path(), &server, &args);
    // A zero amount is not a payment: the command says where, and sends nothing.
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("payments.csv:4: column amount: is zero"),
        "{}",
        r.stderr
    );
    assert!(server.received().1.is_empty());
    assert!(!out.path().join("journal.sqlite").exists());
    let text = std::fs::read_to_string(&csv).unwrap().replace(
        &format!("X3,{},,2026-11-23,0.00,", paid_csv.customer),
        &format!("X3,{},,2026-11-23,0.01,", paid_csv.customer),
    );
    std::fs::write(&csv, text).unwrap();

    let r = send(out.path(), &server, &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let cancelled: BTreeMap<String, &str> = [
        (paid_rf.id.clone(), "cancelled:paid"),
        (paid_name.id.clone(), "cancelled:paid"),
        (paid_csv.id.clone(), "cancelled:paid"),
        (part_rf.id.clone(), "cancelled:part_paid"),
    ]
    .into();
    for (id, state) in &cancelled {
        assert!(
            r.stdout.contains(&format!("{state}: {id}: cancelled: ")),
            "{id}: {}",
            r.stdout
        );
    }
    assert!(
        r.stderr.contains("payments: 7 received, 1 dated on or before the export (it has them), 5 matched, 1 unmatched"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("camt053.xml:") && r.stderr.contains("Nobody We Know"),
        "{}",
        r.stderr
    );
    // Exactly the others arrived, once each.
    let expected = emails(out.path());
    let (got, _) = server.received();
    let cancelled_mids: BTreeSet<String> = manifest(out.path())
        .iter()
        .filter(|e| cancelled.contains_key(e["id"].as_str().unwrap()))
        .map(|e| e["message_id"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = expected
        .keys()
        .filter(|m| !cancelled_mids.contains(*m))
        .cloned()
        .collect();
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert!(got.values().all(|n| *n == 1));
    // The journal has every message: the four cancelled, the rest delivered.
    let states = journal(out.path());
    assert_eq!(states.len(), all.len());
    for c in &all {
        let want = cancelled.get(&c.id).copied().unwrap_or("delivered");
        assert_eq!(states[&c.id], want, "{}", c.id);
    }
    // summary.json counts them, and every message is accounted for.
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(count(&summary, "cancelled:paid"), 3);
    assert_eq!(count(&summary, "cancelled:part_paid"), 1);
    assert_eq!(count(&summary, "delivered") as usize, all.len() - 4);
    let total: u64 = summary["delivery"]["states"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, all.len());
    assert_eq!(
        summary["delivery"]["by_channel"]["email"]["cancelled:paid"],
        3
    );
    assert_eq!(summary["delivery"]["payments"]["unmatched"], 1);
    let report = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(
        report.contains("cancelled:part_paid"),
        "the report shows them"
    );
    // The unmatched payment is listed in the outbox, never dropped.
    let unmatched = read_csv(&out.path().join("payments-unmatched.csv"));
    assert_eq!(unmatched.len(), 1);
    assert_eq!(unmatched[0]["name"], "Nobody We Know");
    assert!(
        unmatched[0]["source"].ends_with("camt053.xml:31"),
        "{unmatched:?}"
    );

    // Resumed, with or without the payments: nothing more is sent, nothing changes.
    for again in [&args[..], &[][..]] {
        let r = send(out.path(), &server, again);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("delivered 0"), "{}", r.stdout);
        assert!(!r.stdout.contains(": cancelled: "), "{}", r.stdout);
        assert_eq!(server.received().1.len(), want.len());
        assert_eq!(journal(out.path()), states);
    }
    // A send without --payments keeps the last one's figures.
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(summary["delivery"]["payments"]["matched"], 5);
}

#[test]
fn a_dry_run_says_what_would_be_cancelled_and_changes_nothing() {
    let dir = tempdir();
    let campaign = small_campaign(dir.path(), false);
    let out = outbox_of(campaign.to_str().unwrap(), &[]);
    let c = claims(out.path(), "email").remove(0);
    let files = tempdir();
    let camt = write(
        files.path(),
        "camt.xml",
        &camt053(&[(&c.amount, &c.currency, Some(&rf(&c.customer)), "X Y")]),
    );
    let server = Server::start(&[]);
    let r = send(
        out.path(),
        &server,
        &["--dry-run", "--payments", camt.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("cancelled:paid: {}: would be cancelled: ", c.id)),
        "{}",
        r.stdout
    );
    assert!(!out.path().join("journal.sqlite").exists());
    assert!(!out.path().join("payments-unmatched.csv").exists());
    assert!(server.received().1.is_empty());
}

fn pdf_pages(pdf: &Path) -> usize {
    tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The text of a PDF with its whitespace folded to single spaces.
fn pdf_text(pdf: &Path) -> String {
    tool("pdftotext", &[pdf.to_str().unwrap(), "-"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn cutoff_takes_paid_letters_out_of_print_pdf_withdraws_their_pages_and_keeps_the_outbox_sendable()
{
    let dir = tempdir();
    let campaign = small_campaign(dir.path(), true);
    let out = outbox_of(campaign.to_str().unwrap(), &[]);
    let letters = claims(out.path(), "letter");
    assert!(letters.len() >= 4, "{} letters", letters.len());
    let print = out.path().join("letters/print.pdf");
    let before = read_csv(&out.path().join("letters/print.csv"));
    assert_eq!(before.len(), letters.len());
    let (paid, part) = (&letters[0], &letters[2]);
    let files = tempdir();
    let camt = write(
        files.path(),
        "camt.xml",
        &camt053(&[(&paid.amount, &paid.currency, Some(&rf(&paid.customer)), "X")]),
    );
    // The export's own payments.csv shape: no currency, the customer named.
    let csv = write(
        files.path(),
        "portal.csv",
        &format!(
            "payment_id,customer_id,invoice_id,date,amount,method,status\nW1,{},,2026-11-24,1,card,ok\n",
            part.customer
        ),
    );
    let cutoff = |extra: &[&str]| {
        let mut args = vec![
            "outbox",
            "cutoff",
            out.path().to_str().unwrap(),
            "--payments",
            camt.to_str().unwrap(),
            "--payments",
            csv.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        dunwell(&args)
    };
    let r = cutoff(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let paid_letter = format!("{}-letter", paid.customer);
    let part_letter = format!("{}-letter", part.customer);
    assert!(
        r.stdout.contains(&format!(
            "cancelled:paid: {paid_letter}: letter taken out of print.pdf: "
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "cancelled:part_paid: {part_letter}: letter taken out of print.pdf: "
        )),
        "{}",
        r.stdout
    );
    // print.csv lists the others, in their order.
    let after = read_csv(&out.path().join("letters/print.csv"));
    let ids = |rows: &[BTreeMap<String, String>]| -> Vec<String> {
        rows.iter().map(|r| r["letter_id"].clone()).collect()
    };
    let mut want = ids(&before);
    want.retain(|id| *id != paid_letter && *id != part_letter);
    assert_eq!(ids(&after), want);
    // print.pdf: their letters are gone, the others are there, pages add up.
    let text = pdf_text(&print);
    for c in &letters {
        let gone = c.id == paid_letter || c.id == part_letter;
        assert_eq!(!text.contains(&c.name), gone, "{} {}", c.id, c.name);
    }
    let last = after.last().unwrap();
    let (first, n): (usize, usize) = (
        last["first_page"].parse().unwrap(),
        last["pages"].parse().unwrap(),
    );
    let pages = pdf_pages(&print);
    assert_eq!(pages, first - 1 + n + n % 2);
    let padded = |r: &BTreeMap<String, String>| {
        let n: usize = r["pages"].parse().unwrap();
        n + n % 2
    };
    assert_eq!(
        pages,
        before
            .iter()
            .filter(|r| want.contains(&r["letter_id"]))
            .map(padded)
            .sum::<usize>()
    );
    tool("qpdf", &["--check", print.to_str().unwrap()]);
    // Their payment pages thank them instead of asking again; the others are untouched.
    for e in manifest(out.path())
        .iter()
        .filter(|e| e["channel"] == "web")
    {
        let html = std::fs::read_to_string(out.path().join(e["path"].as_str().unwrap())).unwrap();
        let customer = e["customer_id"].as_str().unwrap();
        let locale = e["locale"].as_str().unwrap();
        if customer == paid.customer {
            assert_eq!(html, dunwell::web::withdrawn(locale, true));
        } else if customer == part.customer {
            assert_eq!(html, dunwell::web::withdrawn(locale, false));
        } else {
            assert_eq!(
                dunwell::hash::sha256_hex(html.as_bytes()),
                e["sha256"].as_str().unwrap()
            );
        }
    }
    // cutoff.csv records each, with the payment's source.
    let record = read_csv(&out.path().join("cutoff.csv"));
    assert_eq!(record.len(), 4, "{record:?}");
    let row = record.iter().find(|r| r["id"] == paid_letter).unwrap();
    assert_eq!(row["reason"], "cancelled:paid");
    assert!(row["payments"].contains("camt.xml:"), "{row:?}");
    let row = record.iter().find(|r| r["id"] == part_letter).unwrap();
    assert_eq!(row["reason"], "cancelled:part_paid");
    assert!(row["payments"].contains("portal.csv:2"), "{row:?}");
    let summary = read_json(&out.path().join("summary.json"));
    assert_eq!(summary["cutoff"]["letters"]["cancelled:paid"], 1);
    assert_eq!(summary["cutoff"]["pages"]["cancelled:part_paid"], 1);
    assert_eq!(summary["cutoff"]["print_pages"], pages);
    let report = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(report.contains("Print cut-off"));

    // Twice with the same files: nothing more removed, nothing rewritten.
    let (pdf_bytes, record_bytes) = (
        std::fs::read(&print).unwrap(),
        std::fs::read(out.path().join("cutoff.csv")).unwrap(),
    );
    let r = cutoff(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("cutoff: 0 removed now, 4 by earlier cut-offs"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::read(&print).unwrap(), pdf_bytes);
    assert_eq!(
        std::fs::read(out.path().join("cutoff.csv")).unwrap(),
        record_bytes
    );

    // The seal still holds: the withdrawn page shows, the report rebuilds, and a send
    // delivers the e-mails — but not those of the two customers, with the same files.
    let r = dunwell([
        "outbox",
        "show",
        out.path().to_str().unwrap(),
        &format!("{}-web", paid.customer),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = manifest(out.path())
        .into_iter()
        .find(|e| e["id"] == format!("{}-web", paid.customer).as_str())
        .unwrap();
    assert_eq!(
        r.stdout,
        dunwell::web::withdrawn(page["locale"].as_str().unwrap(), true)
    );
    let r = dunwell(["report", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let server = Server::start(&[]);
    let r = send(
        out.path(),
        &server,
        &[
            "--payments",
            camt.to_str().unwrap(),
            "--payments",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let states = journal(out.path());
    assert_eq!(
        states[&format!("{}-email", paid.customer)],
        "cancelled:paid"
    );
    assert_eq!(
        states[&format!("{}-email", part.customer)],
        "cancelled:part_paid"
    );
    assert_eq!(
        server.received().1.len(),
        states.values().filter(|s| *s == "delivered").count()
    );
}

/// `report --payments`: what the campaign recovered, per cluster × stage × channel, in a
/// dated section of its own; the rest of report.html is the same page as before.
#[test]
fn the_report_shows_what_the_campaign_recovered_within_7_14_and_30_days() {
    let out = email_outbox(&[]);
    let server = Server::start(&[]);
    let r = send(out.path(), &server, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let before = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    let all = claims(out.path(), "email");
    // The sample's e-mails are scheduled on 2026-11-23: one customer pays in full 3
    // days after, one 20 days after, one pays half; the rest do not pay.
    let day = |c: &Claim| {
        manifest(out.path())
            .into_iter()
            .find(|e| e["id"] == c.id.as_str())
            .unwrap()["scheduled_at"]
            .as_str()
            .unwrap()[..10]
            .to_string()
    };
    let eur: Vec<&Claim> = all.iter().filter(|c| c.currency == "EUR").collect();
    let (fast, slow, half) = (eur[0], eur[1], eur[2]);
    assert!(eur[..3].iter().all(|c| day(c) == "2026-11-23"));
    let half_amount: rust_decimal::Decimal =
        half.amount.parse::<rust_decimal::Decimal>().unwrap() / rust_decimal::Decimal::from(2);
    let dir = tempdir();
    let file = write(
        dir.path(),
        "payments.csv",
        &format!(
            "payment_id,customer_id,date,amount,currency\nP1,{},2026-11-26,{},EUR\nP2,{},2026-12-13,{},EUR\nP3,{},2026-11-25,{},EUR\n",
            fast.customer,
            fast.amount,
            slow.customer,
            slow.amount,
            half.customer,
            half_amount.round_dp(2)
        ),
    );
    let r = dunwell([
        "report",
        out.path().to_str().unwrap(),
        "--payments",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("3 payment(s) matched, 0 unmatched, up to 2026-12-13"),
        "{}",
        r.stdout
    );
    let rec = read_json(&out.path().join("recovery.json"));
    let rows = rec["rows"].as_array().unwrap();
    let customers: u64 = rows.iter().map(|r| r["customers"].as_u64().unwrap()).sum();
    assert_eq!(customers as usize, emails(out.path()).len());
    let total = |k: usize| -> u64 {
        rows.iter()
            .map(|r| r["paid_in_full"][k].as_u64().unwrap())
            .sum()
    };
    // Within 7 and 14 days: the fast payer; within 30: the slow one too. Half is never full.
    assert_eq!((total(0), total(1), total(2)), (1, 1, 2));
    let fast_amount: rust_decimal::Decimal = fast.amount.parse().unwrap();
    let slow_amount: rust_decimal::Decimal = slow.amount.parse().unwrap();
    let recovered: rust_decimal::Decimal = rec["recovered_30"]["EUR"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        recovered,
        fast_amount + slow_amount + half_amount.round_dp(2)
    );

    let after = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(
        after.contains("Recovery — payments up to 2026-12-13"),
        "no recovery section"
    );
    let start = after.find("<section id=\"recovery\">").unwrap();
    let end = start + after[start..].find("</section>").unwrap() + "</section>".len();
    assert_eq!(
        format!("{}{}", &after[..start], &after[end..]),
        before,
        "the rest of the page changed"
    );
    // Rebuilt later without --payments: the recovery stays (it is in recovery.json).
    let r = dunwell(["report", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert_eq!(
        std::fs::read_to_string(out.path().join("report.html")).unwrap(),
        after
    );
}

/// A cut-off killed after it recorded what it takes out but before print.pdf was bound
/// again is completed by the next cut-off, whatever payments that one is given: the
/// print batch never keeps a letter the record took out.
#[test]
fn a_cutoff_cut_short_is_completed_by_the_next_one() {
    let dir = tempdir();
    let campaign = small_campaign(dir.path(), true);
    let out = outbox_of(campaign.to_str().unwrap(), &[]);
    let letters = claims(out.path(), "letter");
    let paid = &letters[0];
    let files = tempdir();
    let camt = write(
        files.path(),
        "camt.xml",
        &camt053(&[(&paid.amount, &paid.currency, Some(&rf(&paid.customer)), "X")]),
    );
    let batch = out.path().join("letters");
    let (pdf, csv) = (
        std::fs::read(batch.join("print.pdf")).unwrap(),
        std::fs::read(batch.join("print.csv")).unwrap(),
    );
    let o = out.path().to_str().unwrap();
    let r = dunwell(["outbox", "cutoff", o, "--payments", camt.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // The crash: the record is written, the old print batch is still there.
    std::fs::write(batch.join("print.pdf"), &pdf).unwrap();
    std::fs::write(batch.join("print.csv"), &csv).unwrap();
    assert!(
        read_csv(&batch.join("print.csv"))
            .iter()
            .any(|r| r["letter_id"] == paid.id)
    );
    let nothing = write(
        files.path(),
        "nothing.csv",
        "payment_id,customer_id,invoice_id,date,amount,method,status\n",
    );
    let r = dunwell([
        "outbox",
        "cutoff",
        o,
        "--payments",
        nothing.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let listed = read_csv(&batch.join("print.csv"));
    assert_eq!(listed.len(), letters.len() - 1);
    assert!(!listed.iter().any(|r| r["letter_id"] == paid.id));
    let text = tool(
        "pdftotext",
        &[batch.join("print.pdf").to_str().unwrap(), "-"],
    );
    assert!(!text.contains(&paid.name));
}
