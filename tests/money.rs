//! Money in several currencies: one message claims every currency a customer owes, each
//! with its own total, signed link and bank account — read back as a payer would, with
//! a MIME parser, poppler's `pdftotext`, `zbarimg` and `dunwell link verify`.

use crate::util::*;
use std::path::Path;

const CAMPAIGN: &str = "tests/fixtures/currencies/campaign.yaml";

fn entry<'a>(m: &'a [serde_json::Value], customer: &str, channel: &str) -> &'a serde_json::Value {
    m.iter()
        .find(|e| e["customer_id"] == customer && e["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} for {customer}"))
}

/// The PDF's text with ICU's no-break spaces as spaces.
fn pdf_text(pdf: &Path) -> String {
    tool("pdftotext", &[pdf.to_str().unwrap(), "-"]).replace(['\u{a0}', '\u{202f}'], " ")
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

/// Every QR code on a page of a PDF, decoded by zbar (its XML output keeps payloads
/// with line feeds — the EPC's — apart).
fn qr_codes(pdf: &Path, page: usize, dir: &Path) -> Vec<String> {
    let prefix = dir.join("page");
    let n = page.to_string();
    tool(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            "-f",
            &n,
            "-l",
            &n,
            "-singlefile",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    // zbarimg exits 4 when a page has no code at all.
    let o = std::process::Command::new("zbarimg")
        .args(["--quiet", "--xml", dir.join("page.png").to_str().unwrap()])
        .output()
        .expect("zbarimg runs (scripts/test installs it)");
    assert!(matches!(o.status.code(), Some(0 | 4)), "{o:?}");
    let xml = String::from_utf8(o.stdout).unwrap();
    xml.split("<data><![CDATA[")
        .skip(1)
        .map(|s| s.split("]]></data>").next().unwrap().to_string())
        .collect()
}

/// `dunwell link verify` of the token in a payment link: the claims the portal reads.
fn verify(link: &str) -> serde_json::Value {
    verify_on(link, "2026-11-25")
}

fn verify_on(link: &str, today: &str) -> serde_json::Value {
    let token = link.rsplit('/').next().unwrap().split('?').next().unwrap();
    let run = dunwell_env(["link", "verify", token, "--today", today], &[SECRET]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn a_customer_owing_euro_and_zloty_gets_one_message_with_two_groups_links_and_accounts() {
    let out = outbox_of(CAMPAIGN, &[]);
    let m = manifest(out.path());
    // One message per channel, not one per currency.
    assert_eq!(
        m.iter().filter(|e| e["customer_id"] == "M-EP").count(),
        4,
        "{m:?}"
    );
    let mail = entry(&m, "M-EP", "email");
    // The main currency (most open debt) first, the other with its own total.
    // (The manifest writes decimals without trailing zeros.)
    assert_eq!(
        (mail["currency"].as_str(), mail["amount"].as_str()),
        (Some("PLN"), Some("1750.5"))
    );
    assert_eq!(mail["others"][0]["currency"], "EUR");
    assert_eq!(mail["others"][0]["amount"], "200");
    assert_eq!(mail["others"][0]["invoices"][0][0], "EP-E1");

    // The e-mail, parsed back: both totals, both links, each link signed for its own
    // currency and amount.
    let mbox = std::fs::read(out.path().join(mail["path"].as_str().unwrap())).unwrap();
    let off = mail["offset"].as_u64().unwrap() as usize;
    let len = mail["length"].as_u64().unwrap() as usize;
    let raw = &mbox[off..off + len];
    let raw = raw.splitn(2, |&b| b == b'\n').nth(1).unwrap(); // the mbox From line
    let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
    let text = parsed
        .body_text(0)
        .unwrap()
        .replace(['\u{a0}', '\u{202f}'], " ");
    assert!(text.contains("1 750,50 zł i 200,00 €"), "{text}");
    let links: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with("https://pay.nordlicht.example/p/"))
        .collect();
    assert_eq!(links.len(), 2, "{text}");
    let claims: Vec<(String, u64)> = links
        .iter()
        .map(|l| {
            let c = verify(l);
            assert_eq!(c["customer"], "M-EP");
            (
                c["currency"].as_str().unwrap().to_string(),
                c["amount_minor"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(claims, [("PLN".into(), 175050), ("EUR".into(), 20000)]);
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains("200,00"),
        "the HTML part has the euro total too"
    );
    // A button per currency, each saying what its own link asks for.
    let html = html.replace(['\u{a0}', '\u{202f}'], " ");
    assert_eq!(html.matches("class=\"button\"").count(), 2, "{html}");
    assert!(
        html.contains("Zapłać 1 750,50 zł</a>") && html.contains("Zapłać 200,00 €</a>"),
        "{html}"
    );

    // The letter: two table parts with their totals, two slips with their accounts.
    let letter = out.path().join("letters/M-EP-letter.pdf");
    let t = pdf_text(&letter);
    for want in [
        "1 750,50 zł i 200,00 €",
        "PL61 1090 1014 0000 0712 1981 2874",
        "NL91 ABNA 0417 1643 00",
        "WBKPPLPP",
        "ABNANL2A",
    ] {
        assert!(t.contains(want), "{want} missing from the letter:\n{t}");
    }
    assert_eq!(t.matches("Dane do przelewu").count(), 2, "{t}");
    assert_eq!(t.matches("Razem").count(), 2, "{t}");
    // The EPC code only on the euro slip; the złoty slip's QR opens its own link.
    let scratch = tempdir();
    let pages = pdf_pages(&letter);
    let codes: Vec<String> = (1..=pages)
        .flat_map(|p| qr_codes(&letter, p, scratch.path()))
        .collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    let epc: Vec<&String> = codes.iter().filter(|c| c.starts_with("BCD\n")).collect();
    assert_eq!(epc.len(), 1, "{codes:?}");
    let lines: Vec<&str> = epc[0].split('\n').collect();
    assert_eq!(lines[6], "NL91ABNA0417164300");
    assert_eq!(lines[7], "EUR200.00");
    let link = codes.iter().find(|c| !c.starts_with("BCD\n")).unwrap();
    let c = verify(link);
    assert_eq!(
        (c["currency"].as_str(), c["amount_minor"].as_u64()),
        (Some("PLN"), Some(175050))
    );

    // The payment page answers both currencies' links, the same page under each token.
    let web = entry(&m, "M-EP", "web");
    let main = std::fs::read_to_string(out.path().join(web["path"].as_str().unwrap())).unwrap();
    let pages = web["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 1);
    let alias = std::fs::read_to_string(out.path().join(pages[0].as_str().unwrap())).unwrap();
    assert_eq!(main, alias);
    assert!(
        main.contains("NL91 ABNA 0417 1643 00") && main.contains("PL61 1090"),
        "{main}"
    );
    assert_eq!(main.matches("class=\"button\"").count(), 2);

    // The SMS: the main total and how many more currencies, within the cap.
    let sms = read_jsonl(&out.path().join("sms.jsonl"));
    let s = sms.iter().find(|s| s["id"] == "M-EP-sms").unwrap();
    let text = s["text"].as_str().unwrap();
    assert!(text.contains("1 750,50 zl (+1 inna waluta)"), "{text}");
    assert!(!text.contains("200,00"), "{text}");
}

#[test]
fn each_account_is_written_as_its_payers_write_it() {
    let out = outbox_of(CAMPAIGN, &[]);
    let gb = pdf_text(&out.path().join("letters/M-GB-letter.pdf"));
    for want in [
        "Sort code",
        "20-20-15",
        "Account number",
        "55555555",
        "GB33 BUKB 2020 1555 5555 55",
    ] {
        assert!(gb.contains(want), "{want} missing:\n{gb}");
    }
    let jp = pdf_text(&out.path().join("letters/M-JP-letter.pdf"));
    for want in [
        "三菱UFJ銀行（0005）",
        "東京営業部（001）",
        "預金種目",
        "普通",
        "1234567",
        "ノルドリヒト",
    ] {
        assert!(jp.contains(want), "{want} missing:\n{jp}");
    }
    // Neither pound nor yen is a SEPA transfer: their QR codes are the links.
    assert!(!gb.contains("Scan with your banking app"), "{gb}");
}

#[test]
fn a_currency_without_an_account_stops_run_and_fails_check() {
    let dir = tempdir();
    let fixture = root().join("tests/fixtures/currencies");
    for f in ["customers.csv", "invoices.csv"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let text = std::fs::read_to_string(fixture.join("campaign.yaml"))
        .unwrap()
        .replace("../../../", &format!("{}/", root().display()))
        .lines()
        .filter(|l| !l.contains("currency: GBP"))
        .collect::<Vec<_>>()
        .join("\n");
    let campaign = dir.path().join("campaign.yaml");
    std::fs::write(&campaign, text).unwrap();
    let out = dir.path().join("out");
    let run = run_campaign(campaign.to_str().unwrap(), &out, &[]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("no account for GBP (1 customer)"),
        "{}",
        run.stderr
    );
    assert!(!out.join("manifest.jsonl").exists(), "nothing is written");
    let check = dunwell_env(["check", campaign.to_str().unwrap()], &[SECRET]);
    assert_ne!(check.code, 0);
    assert!(
        check.stdout.contains("no account for GBP"),
        "{}",
        check.stdout
    );
}

#[test]
fn check_renders_every_cell_for_a_customer_owing_in_two_currencies() {
    let dir = tempdir();
    let templates = dir.path().join("templates");
    copy_tree(&root().join("templates"), &templates);
    // A template from before several currencies: one link, the main currency's.
    let file = templates.join("email/default/default.en.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    let start = text.find("{% for g in groups %}").unwrap();
    let end = text[start..].find("{% endfor %}").unwrap() + start + "{% endfor %}".len();
    std::fs::write(
        &file,
        format!("{}{{{{ payment.link }}}}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let campaign = dir.path().join("campaign.yaml");
    let yaml = std::fs::read_to_string(root().join(CAMPAIGN))
        .unwrap()
        .replace(
            "segments: ../../../segments/default.yaml",
            &format!("segments: {}/segments/default.yaml", root().display()),
        )
        .replace(
            "templates: ../../../templates",
            &format!("templates: {}", templates.display()),
        )
        .replace(
            "customers: customers.csv",
            &format!(
                "customers: {}/tests/fixtures/currencies/customers.csv",
                root().display()
            ),
        )
        .replace(
            "invoices: invoices.csv",
            &format!(
                "invoices: {}/tests/fixtures/currencies/invoices.csv",
                root().display()
            ),
        );
    std::fs::write(&campaign, yaml).unwrap();
    let check = dunwell_env(["check", campaign.to_str().unwrap()], &[SECRET]);
    assert_ne!(check.code, 0, "{}", check.stdout);
    assert!(
        check.stdout.contains("default.en.txt") && check.stdout.contains("has one payment link"),
        "{}",
        check.stdout
    );
    // The shipped templates pass.
    let ok = dunwell_env(["check", CAMPAIGN], &[SECRET]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
}

/// The issue's worked example, through the whole pipeline: EUR 10,000 due 2023-06-20,
/// German law, a business debtor. § 288(2) BGB: base rate + 9 points; the base rate
/// was 1.62 % to 30 June 2023 and 3.12 % from 1 July (§ 247 BGB), so
///   10,000 × 10.62 % × 10/365 (21–30 June)  =  29.0959
///   10,000 × 12.12 % × 31/365 (1–31 July)   = 102.9370
///                                           = 132.03 (rounded once, at the end)
/// plus the EUR 40 of § 288(5) BGB. The consumer owes neither under `apply: b2b`.
#[test]
fn statutory_interest_and_compensation_are_lines_of_the_letter_and_stated_in_the_email() {
    let out = outbox_of("tests/fixtures/interest/campaign.yaml", &[]);
    let b2b = pdf_text(&out.path().join("letters/I-B2B-letter.pdf"));
    for want in [
        "Interest to 7/31/23",
        "€132.03",
        "Compensation for", // the row's label wraps in its cell
        "€40.00",
        "€10,172.03",
        "Statutory late-payment interest to July 31, 2023: €132.03.",
    ] {
        assert!(b2b.contains(want), "{want} missing:\n{b2b}");
    }
    let consumer = pdf_text(&out.path().join("letters/I-CON-letter.pdf"));
    assert!(
        !consumer.contains("Interest to") && !consumer.contains("€40.00"),
        "{consumer}"
    );
    // The e-mail says so; its link asks for the invoices only (include_in_links: false).
    let m = manifest(out.path());
    let mail = entry(&m, "I-B2B", "email");
    let mbox = std::fs::read(out.path().join(mail["path"].as_str().unwrap())).unwrap();
    let off = mail["offset"].as_u64().unwrap() as usize;
    let raw = &mbox[off..off + mail["length"].as_u64().unwrap() as usize];
    let raw = raw.splitn(2, |&b| b == b'\n').nth(1).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
    let text = parsed.body_text(0).unwrap().to_string();
    assert!(
        text.contains("Fixed compensation for recovery costs: €40.00."),
        "{text}"
    );
    let link = mail["link"].as_str().unwrap();
    assert_eq!(verify_on(link, "2023-08-01")["amount_minor"], 1_000_000);
}

#[test]
fn with_include_in_links_the_link_and_the_epc_code_ask_for_the_interest_too() {
    let dir = tempdir();
    let fixture = root().join("tests/fixtures/interest");
    for f in ["customers.csv", "invoices.csv"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let text = std::fs::read_to_string(fixture.join("campaign.yaml"))
        .unwrap()
        .replace("../../../", &format!("{}/", root().display()))
        .replace(
            "interest: {apply: b2b, law: auto}",
            "interest: {apply: b2b, law: auto, include_in_links: true}",
        );
    let campaign = dir.path().join("campaign.yaml");
    std::fs::write(&campaign, text).unwrap();
    let out = dir.path().join("out");
    let run = run_campaign(campaign.to_str().unwrap(), &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = manifest(&out);
    let link = entry(&m, "I-B2B", "letter")["link"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(verify_on(&link, "2023-08-01")["amount_minor"], 1_017_203);
    let scratch = tempdir();
    let letter = out.join("letters/I-B2B-letter.pdf");
    let pages = pdf_pages(&letter);
    let epc: Vec<String> = (1..=pages)
        .flat_map(|p| qr_codes(&letter, p, scratch.path()))
        .filter(|c| c.starts_with("BCD\n"))
        .collect();
    assert_eq!(epc.len(), 1, "{epc:?}");
    assert_eq!(epc[0].split('\n').nth(7), Some("EUR10172.03"));
}

/// The interest fixture copied into a folder of its own, `campaign` and each CSV file
/// changed by the functions given: the campaign's path and the folder.
fn interest_variant(
    campaign: &dyn Fn(String) -> String,
    customers: &dyn Fn(String) -> String,
    invoices: &dyn Fn(String) -> String,
) -> (String, tempfile::TempDir) {
    let dir = tempdir();
    let fixture = root().join("tests/fixtures/interest");
    let read = |f: &str| std::fs::read_to_string(fixture.join(f)).unwrap();
    std::fs::write(
        dir.path().join("customers.csv"),
        customers(read("customers.csv")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("invoices.csv"),
        invoices(read("invoices.csv")),
    )
    .unwrap();
    let text = read("campaign.yaml").replace("../../../", &format!("{}/", root().display()));
    let path = dir.path().join("campaign.yaml");
    std::fs::write(&path, campaign(text)).unwrap();
    (path.display().to_string(), dir)
}

/// Adds a column to a CSV file: `values` per data row, in order.
fn with_column(csv: String, name: &str, values: &[&str]) -> String {
    let mut lines = csv.lines();
    let mut out = format!("{},{name}\n", lines.next().unwrap());
    for (line, v) in lines.zip(values) {
        out.push_str(&format!("{line},{v}\n"));
    }
    out
}

fn same(s: String) -> String {
    s
}

#[test]
fn an_invoices_governing_law_displaces_the_creditors_and_an_unknown_one_stops_the_run() {
    // The German creditor's invoice B-1 says its contract is under Dutch law (art.
    // 6:119a BW, act/365): 10,000.00 from 21 June 2023. H1 2023 runs at the ECB rate
    // before 1 January 2023 (2.50) + 8 = 10.50 %, H2 at the rate before 1 July (4.00,
    // from 21 June) + 8 = 12.00 %:
    //   10,000 × 10.50 % × 10/365 = 28.7671   (21–30 June)
    //   10,000 × 12.00 % × 31/365 = 101.9178  (1–31 July)
    //   = 130.6849 → €130.68; plus the Dutch EUR 40.
    // Under German law (the creditor's) it was €132.03.
    let (campaign, dir) = interest_variant(&same, &same, &|c| {
        with_column(c, "governing_law", &["nl", ""])
    });
    let out = dir.path().join("out");
    let run = run_campaign(&campaign, &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let b2b = pdf_text(&out.join("letters/I-B2B-letter.pdf"));
    assert!(b2b.contains("€130.68"), "{b2b}");
    assert!(!b2b.contains("€132.03"), "{b2b}");
    assert!(b2b.contains("€40.00"), "{b2b}");

    // A law dunwell has no file for: nothing is written, the invoice is named.
    let (campaign, dir) = interest_variant(&same, &same, &|c| {
        with_column(c, "governing_law", &["XK", ""])
    });
    let out = dir.path().join("out");
    let run = run_campaign(&campaign, &out, &[]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("invoices.csv:2: column governing_law: no law file for `XK`"),
        "{}",
        run.stderr
    );
    assert!(!out.join("manifest.jsonl").exists());
    let check = dunwell_env(["check", campaign.as_str()], &[SECRET]);
    assert_ne!(check.code, 0, "{}", check.stdout);
    assert!(
        format!("{}{}", check.stdout, check.stderr).contains("governing_law"),
        "{}{}",
        check.stdout,
        check.stderr
    );
    // A cell that is no law's code at all is the row's defect, as any bad cell.
    let (campaign, dir) = interest_variant(&same, &same, &|c| {
        with_column(c, "governing_law", &["Germany", ""])
    });
    let out = dir.path().join("out");
    let run = run_campaign(&campaign, &out, &[]);
    let rejects = std::fs::read_to_string(out.join("rejected.csv")).unwrap_or_default();
    assert!(
        rejects.contains("governing_law") && rejects.contains("two-letter"),
        "{}\n{rejects}",
        run.stderr
    );
}

#[test]
fn an_agreed_rate_displaces_the_statutory_one_only_upwards_under_german_law() {
    // § 288(3) BGB: a higher agreed rate is claimed, a lower one is not (the floor is
    // the statutory rate). 20 % a year on 10,000.00 for 41 days (21 June – 31 July,
    // act/365): 10,000 × 20 % × 41/365 = 224.6575 → €224.66.
    let (campaign, dir) = interest_variant(&same, &same, &|c| {
        with_column(c, "interest_rate", &["20", ""])
    });
    let out = dir.path().join("out");
    let run = run_campaign(&campaign, &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let b2b = pdf_text(&out.join("letters/I-B2B-letter.pdf"));
    assert!(b2b.contains("€224.66"), "{b2b}");
    // 2 % agreed: the statutory €132.03 stands.
    let (campaign, dir) = interest_variant(&same, &same, &|c| {
        with_column(c, "interest_rate", &["2", ""])
    });
    let out = dir.path().join("out");
    let run = run_campaign(&campaign, &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let b2b = pdf_text(&out.join("letters/I-B2B-letter.pdf"));
    assert!(b2b.contains("€132.03"), "{b2b}");
    // A spreadsheet's percentage cell (0.085 for 8.5 %) is refused, not read as 0.085 %.
    let (campaign, dir) = interest_variant(&same, &same, &|c| {
        with_column(c, "interest_rate", &["0.085", ""])
    });
    let out = dir.path().join("out");
    run_campaign(&campaign, &out, &[]);
    let rejects = std::fs::read_to_string(out.join("rejected.csv")).unwrap_or_default();
    assert!(
        rejects.contains("interest_rate") && rejects.contains("looks like a fraction"),
        "{rejects}"
    );
}

#[test]
fn chinas_interest_needs_an_sme_creditor_and_a_large_or_public_debtor() {
    // 保障中小企业款项支付条例 art. 17: 0.05 % a day with no agreed rate, owed by large
    // enterprises and public bodies to SMEs. 10,000.00 × 0.05 % × 41 days = €205.00.
    let cn = |sme: bool| {
        move |c: String| {
            let c = c.replace(
                "interest: {apply: b2b, law: auto}",
                "interest: {apply: b2b, law: CN}",
            );
            if sme {
                c.replace("  country: DE\n", "  country: DE\n  sme: true\n")
            } else {
                c
            }
        }
    };
    let sized = |c: String| with_column(c, "size", &["large", ""]);
    let (campaign, dir) = interest_variant(&cn(true), &sized, &same);
    let out = dir.path().join("out");
    let run = run_campaign(&campaign, &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let b2b = pdf_text(&out.join("letters/I-B2B-letter.pdf"));
    assert!(b2b.contains("€205.00"), "{b2b}");
    // Not an SME creditor, or a debtor not known to be large: nothing claimed.
    for (campaign_fn, customers_fn) in [
        (
            &cn(false) as &dyn Fn(String) -> String,
            &sized as &dyn Fn(String) -> String,
        ),
        (&cn(true), &same),
    ] {
        let (campaign, dir) = interest_variant(campaign_fn, customers_fn, &same);
        let out = dir.path().join("out");
        let run = run_campaign(&campaign, &out, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let b2b = pdf_text(&out.join("letters/I-B2B-letter.pdf"));
        assert!(
            !b2b.contains("€205.00") && !b2b.contains("Interest to"),
            "{b2b}"
        );
    }
}

#[test]
fn dutch_consumer_collection_costs_wait_for_fourteen_days_after_the_first_reminder() {
    // Art. 6:96(6) BW: costs from a consumer only 14 days after a letter giving those 14
    // days reached them. The WIK scale on 10,000.00: 15 % of 2,500 + 10 % of 2,500 + 5 %
    // of 5,000 = 375 + 250 + 250 = €875.00.
    let nl = |letters: bool| {
        move |c: String| {
            let c = with_final_notice_rung(
                &c.replace(
                    "interest: {apply: b2b, law: auto}",
                    &format!("interest: {{apply: all, law: NL, demand_letters: {letters}}}"),
                )
                .replace(
                    "    reminder: [email, letter]\n",
                    "    reminder: [letter]\n    final_notice: [letter]\n",
                ),
            );
            format!("{c}history: history.sqlite\n")
        }
    };
    for letters in [true, false] {
        let (campaign, dir) = interest_variant(&nl(letters), &same, &same);
        let first = dir.path().join("first");
        let run = run_campaign(&campaign, &first, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let consumer = pdf_text(&first.join("letters/I-CON-letter.pdf"));
        assert!(!consumer.contains("€875.00"), "{consumer}");
        let r = dunwell([
            "outbox",
            "posted",
            first.to_str().unwrap(),
            "--now",
            "2023-07-31T16:00:00Z",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        // Posted 31 July, taken as received 2 August: claimable from 17 August.
        for (as_of, owed) in [("2023-08-14", false), ("2023-08-31", letters)] {
            let out = dir.path().join(as_of);
            let run = run_campaign(&campaign, &out, &["--as-of", as_of]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            let consumer = pdf_text(&out.join("letters/I-CON-letter.pdf"));
            assert_eq!(
                consumer.contains("€875.00"),
                owed,
                "demand_letters: {letters}, {as_of}:\n{consumer}"
            );
        }
    }
}
