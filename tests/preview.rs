//! `preview` and `serve`: the gallery's files checked here, and the gallery itself driven
//! in headless Chromium (Debian's `chromium` through Playwright, tests/js/gallery.js).

use crate::util::*;
use crate::{node, quiet};
use std::path::Path;
use std::process::Command;

fn chromium_test(args: &[&str]) -> serde_json::Value {
    node("gallery.js", args)
}

fn preview(campaign: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["preview", campaign, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    dunwell(&args)
}

#[test]
fn the_gallery_has_every_cell_with_its_files_and_no_outside_reference() {
    let _quiet = quiet();
    let dir = tempdir();
    let r = preview("samples/campaign.yaml", dir.path(), &["--per-cell", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    // Every cell `check` renders is in the gallery (check counts them).
    let check = dunwell(["check", "samples/campaign.yaml"]);
    let cells: usize = check
        .stdout
        .lines()
        .last()
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("check prints the cell count");
    assert_eq!(index.matches(" class=\"cell").count(), cells);
    // Every file the page points at exists; nothing is fetched from elsewhere.
    for attr in [" src=\"", " href=\""] {
        for part in index.split(attr).skip(1) {
            let target = &part[..part.find('"').unwrap()];
            if target == "data:," {
                continue; // the empty favicon: no request at all
            }
            assert!(!target.contains("://"), "outside reference {target}");
            assert!(dir.path().join(target).is_file(), "{target} missing");
        }
    }
    // Up to two customers per cell, with their reasons; real plan members marked.
    assert!(index.contains("in the plan"));
    assert!(index.matches("class=\"sample\"").count() > cells);
    assert!(index.contains("rule <code>financial_distress</code>"));
    // Iframes are sandboxed with nothing allowed (no scripts, no same origin) — but the
    // one out of sight that measures each e-mail at a phone's width: it runs only the
    // measuring script of the gallery's copies, by hash, and fetches nothing.
    assert!(index.contains("<iframe class=\"email\" sandbox=\"\" loading=\"lazy\""));
    assert_eq!(index.matches("allow-scripts").count(), 1);
    assert!(index.contains("<iframe id=\"fit\" class=\"fit\" sandbox=\"allow-scripts\""));
    let mut fits = 0;
    for part in index.split(" data-fit=\"").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        let copy = std::fs::read_to_string(dir.path().join(target)).unwrap();
        let head = &copy[..copy.find("</head>").unwrap()];
        assert!(
            head.contains("<head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-"),
            "{target}: {head}"
        );
        assert!(!copy.contains("unsafe-eval") && copy.matches("<script>").count() == 1);
        fits += 1;
    }
    assert!(fits > 100, "{fits} e-mails measured");
    // The sample's letters show their whole address in the window.
    assert!(!index.contains("Lost an address line"));
    // SMS show their encoding and segments; letters their pages as SVG.
    assert!(index.contains("GSM-7</b> · <b>1 segment</b>"));
    let svg = std::fs::read_dir(dir.path().join("m"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".ja.0.p1.svg"))
        .expect("a Japanese letter page");
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<path"),
        "glyphs as outlines"
    );
}

/// The gallery draws letter pages from the layout, not from the PDF: poppler reads each
/// PDF page back, and every word it finds must start where the SVG puts a glyph, on the
/// same line — so a page that shifts, breaks or scales differently in the preview fails.
#[test]
fn letter_pages_in_the_gallery_put_every_word_where_the_pdf_has_it() {
    let _quiet = quiet();
    let dir = tempdir();
    let r = preview("samples/campaign.yaml", dir.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let number = |text: &str, key: &str| -> f32 {
        let at = text.find(key).unwrap() + key.len();
        text[at..].split('"').next().unwrap().parse().unwrap()
    };
    let mut pages = 0;
    for svg_path in std::fs::read_dir(dir.path().join("m"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
    {
        let name = svg_path.file_name().unwrap().to_string_lossy().into_owned();
        let (stem, page) = name.trim_end_matches(".svg").rsplit_once(".p").unwrap();
        let pdf = dir.path().join("m").join(format!("{stem}.pdf"));
        let out = Command::new("pdftotext")
            .args(["-bbox", "-f", page, "-l", page])
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) runs");
        assert!(out.status.success());
        let bbox = String::from_utf8(out.stdout).unwrap();
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        // Each glyph: <use … transform="matrix(k 0 0 -k X Y)"/>, Y from the top.
        let glyphs: Vec<(f32, f32)> = svg
            .split(" 0 0 -")
            .skip(1)
            .map(|rest| {
                let mut it = rest.split([' ', ')']).skip(1);
                let x = it.next().unwrap().parse().unwrap();
                let y = it.next().unwrap().parse().unwrap();
                (x, y)
            })
            .collect();
        let words: Vec<&str> = bbox.split("<word ").skip(1).collect();
        assert!(words.len() > 20, "{name}: {} words", words.len());
        for w in words {
            let (x, top, bottom) = (
                number(w, "xMin=\""),
                number(w, "yMin=\""),
                number(w, "yMax=\""),
            );
            let text = w.split('>').nth(1).unwrap().split('<').next().unwrap();
            assert!(
                glyphs.iter().any(
                    |(gx, gy)| (gx - x).abs() < 0.75 && (top - 1.0..=bottom + 1.0).contains(gy)
                ),
                "{name}: the PDF has `{text}` at x={x} y={top}..{bottom}, the SVG has no glyph there"
            );
        }
        pages += 1;
    }
    assert!(pages >= 40, "{pages} letter pages in the gallery");
}

#[test]
fn a_broken_template_shows_in_its_cells_and_the_rest_render() {
    let _quiet = quiet();
    let dir = broken_copy();
    let copy = dir.path().join("samples/campaign.yaml");
    let out = dir.path().join("gallery");
    let r = preview(copy.to_str().unwrap(), &out, &[]);
    assert_eq!(r.code, 1, "a syntax error is an error: {}", r.stderr);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    // The Polish unable e-mails show the error, with the file and line …
    let cell = index
        .split("<article")
        .find(|a| a.contains("id=\"unable.reminder.email.pl\""))
        .unwrap();
    assert!(cell.contains("pre class=\"error\""), "{cell}");
    // An unclosed `if` is found at the end of the file: its last line.
    let lines = std::fs::read_to_string(dir.path().join("templates/email/unable/default.pl.txt"))
        .unwrap()
        .lines()
        .count();
    assert!(cell.contains(&format!("default.pl.txt:{lines}:")), "{cell}");
    assert!(
        cell.contains("templates/email/unable/default.pl.txt</p>"),
        "{cell}"
    );
    // … and not the English fallback the lenient loader would have picked.
    assert!(!cell.contains("class=\"email\""));
    // Other cells still render.
    assert!(index.contains("id=\"unable.reminder.email.it\""));
    let it = index
        .split("<article")
        .find(|a| a.contains("id=\"unable.reminder.email.it\""))
        .unwrap();
    assert!(it.contains("iframe class=\"email\""));
}

#[test]
fn preview_out_replaces_only_its_own_gallery_never_other_files_in_the_folder() {
    let _quiet = quiet();
    let dir = tempdir();
    let out = dir.path().join("gallery");
    // The user's own files: beside the gallery, in a subfolder, in the gallery's `m/`.
    let theirs = ["notes.txt", "sub/keep.txt", "m/mine.html"];
    for f in theirs {
        let p = out.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, f).unwrap();
    }
    let listing = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("m"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let full = small_campaign(&dir.path().join("full"), true);
    let r = preview(full.to_str().unwrap(), &out, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = listing(&out);
    assert!(first.iter().any(|f| f.ends_with(".pdf")), "{first:?}");
    assert!(first.iter().any(|f| f.ends_with(".web.html")), "{first:?}");
    for f in theirs {
        assert_eq!(std::fs::read_to_string(out.join(f)).unwrap(), f, "{f}");
    }

    // A second preview with fewer cells: the first gallery's letter and payment page
    // are gone, its e-mails replaced; the user's files are still there.
    let small = small_campaign(&dir.path().join("small"), false);
    let r = preview(small.to_str().unwrap(), &out, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let second = listing(&out);
    assert!(
        !second
            .iter()
            .any(|f| f.ends_with(".pdf") || f.ends_with(".svg") || f.ends_with(".web.html")),
        "{second:?}"
    );
    assert_eq!(second.iter().filter(|f| f.ends_with(".eml")).count(), 2);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!index.contains("data-channel=\"letter\""));
    for f in theirs {
        assert_eq!(std::fs::read_to_string(out.join(f)).unwrap(), f, "{f}");
    }

    // An index.html no preview wrote is not overwritten: the folder is someone else's.
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "<h1>our intranet</h1>").unwrap();
    let r = preview(small.to_str().unwrap(), &site, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not written by `dunwell preview`"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(site.join("index.html")).unwrap(),
        "<h1>our intranet</h1>"
    );
    assert!(!site.join("m").exists());
}

/// A copy of the sample with the Polish `unable` e-mail broken (an unclosed tag on line 3).
fn broken_copy() -> tempfile::TempDir {
    let dir = sample_copy();
    let t = dir.path().join("templates/email/unable/default.pl.txt");
    let src = std::fs::read_to_string(&t).unwrap();
    let mut lines: Vec<&str> = src.lines().collect();
    let broken = format!("{{% if customer.name %}}{}", lines[2]);
    lines[2] = &broken;
    std::fs::write(&t, lines.join("\n")).unwrap();
    dir
}

#[test]
fn in_chromium_the_gallery_loads_cleanly_filters_and_shows_every_email() {
    let _quiet = quiet();
    let dir = tempdir();
    let r = preview("samples/campaign.yaml", dir.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let url = format!("file://{}", dir.path().join("index.html").display());
    let v = chromium_test(&["static", &url]);
    assert!(v["cells"].as_u64().unwrap() > 300, "{v}");
    assert!(v["email_iframes"].as_u64().unwrap() > 100, "{v}");
    assert_eq!(v["email_iframes"], v["email_iframes_showing"]);
    assert!(v["letter_pages_decoded"].as_u64().unwrap() > 40, "{v}");
    assert_eq!(v["console_errors"].as_array().unwrap().len(), 0);
    assert_eq!(v["remote_requests"].as_array().unwrap().len(), 0);
    // Every e-mail measured at 390 px, none wider.
    assert_eq!(v["measured"], v["email_iframes"], "{v}");
    assert_eq!(
        v["too_wide"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["too_wide"]
    );
}

/// Cell ids (`cluster.stage.channel.locale`) of the gallery's cards, with their
/// `data-problem`.
fn cards(index: &str) -> Vec<(String, bool)> {
    index
        .split("<article ")
        .skip(1)
        .map(|a| {
            let attr = |name: &str| {
                let at = a.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                a[at..at + a[at..].find('"').unwrap()].to_string()
            };
            (attr("id"), attr("data-problem") == "1")
        })
        .collect()
}

/// Issue 16: a letter whose envelope window lacks part of the customer's address is a
/// problem of its cell ("problems only" shows it), saying what is missing. Here a
/// campaign's own address formats leave Poland's street line out.
#[test]
fn a_letter_that_lost_an_address_line_is_a_problem_of_its_cell() {
    let _quiet = quiet();
    let dir = sample_copy();
    let table = dir.path().join("templates/letter/addresses.yaml");
    let text = std::fs::read_to_string(&table).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("PL:"))
        .unwrap()
        .to_string();
    std::fs::write(
        &table,
        text.replace(&line, "PL: {name: \"POLAND\", fmt: \"%N%n%O%n%Z %C\"}"),
    )
    .unwrap();
    let out = tempdir();
    let r = preview(
        dir.path().join("samples/campaign.yaml").to_str().unwrap(),
        out.path(),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let index = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let cards = cards(&index);
    let polish_letters: Vec<&(String, bool)> = cards
        .iter()
        .filter(|(id, _)| id.ends_with(".letter.pl"))
        .collect();
    assert!(polish_letters.len() >= 5, "{polish_letters:?}");
    for (id, problem) in &cards {
        assert_eq!(
            *problem,
            id.ends_with(".letter.pl"),
            "{id}: problem {problem}"
        );
    }
    assert!(
        index.contains(
            "Lost an address line: the envelope window does not show the first address line `ul. "
        ),
        "{}",
        &index[index.find("class=\"problem\"").unwrap_or(0)..][..400.min(index.len())]
    );
}

/// Issue 16: an e-mail wider than a phone is a problem of its cell once the gallery has
/// measured it in the browser: flagged, counted in the header, shown by "problems only".
/// Here the Latvian e-mails carry a block 640 px wide; no other e-mail is flagged.
#[test]
fn in_chromium_an_email_wider_than_a_phone_is_a_problem_of_its_cell() {
    let _quiet = quiet();
    let dir = sample_copy();
    let base = dir.path().join("templates/email/base.html");
    let text = std::fs::read_to_string(&base).unwrap();
    let at = text.find("<body").unwrap();
    let at = at + text[at..].find('>').unwrap() + 1;
    std::fs::write(
        &base,
        format!(
            "{}{{% if locale | split(pat=\"-\") | first == \"lv\" %}}<div style=\"width:640px\">Plašs bloks</div>{{% endif %}}{}",
            &text[..at],
            &text[at..]
        ),
    )
    .unwrap();
    let out = tempdir();
    let r = preview(
        dir.path().join("samples/campaign.yaml").to_str().unwrap(),
        out.path(),
        &["--per-cell", "1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let index = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let latvian: std::collections::BTreeSet<String> = cards(&index)
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| id.ends_with(".email.lv"))
        .collect();
    assert!(latvian.len() >= 10, "{latvian:?}");
    let url = format!("file://{}", out.path().join("index.html").display());
    let v = chromium_test(&["fit", &url]);
    let ids = |key: &str| -> std::collections::BTreeSet<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("too_wide"), latvian, "{v:#}");
    assert_eq!(ids("problems_only"), latvian, "{v:#}");
    let header = v["header"].as_str().unwrap();
    assert!(
        header.contains(&format!("{} e-mails wider than a phone", latvian.len())),
        "{header}"
    );
    assert!(
        v["too_wide_texts"][0]
            .as_str()
            .unwrap()
            .contains("px on a 390 px screen"),
        "{v:#}"
    );
}

#[test]
fn in_chromium_a_lan_bind_serves_the_gallery_under_its_token_and_its_csp() {
    let _quiet = quiet();
    let dir = tempdir();
    let server = Serve::start(&small_campaign(dir.path(), true), &["--bind", "0.0.0.0"]);
    // Chromium refuses to open 0.0.0.0: the same server through loopback, token and all.
    let url = server.url.replace("://0.0.0.0:", "://127.0.0.1:");
    assert!(
        url.len() > "http://127.0.0.1:1/".len() + 32,
        "no token in {url}"
    );
    let v = chromium_test(&["served", &url]);
    assert_eq!(v["frames"], v["frames_showing"], "{v}");
    assert!(v["frames"].as_u64().unwrap() >= 3, "{v}");
    assert!(v["letter_pages_decoded"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["injected_handler_ran"], false, "{v}");
}

#[test]
fn in_chromium_serve_shows_a_template_edit_within_two_seconds() {
    let _quiet = quiet();
    let dir = sample_copy();
    let file = dir.path().join("samples/campaign.yaml");
    let server = Serve::start(&file, &[]);
    let url = server.url.clone();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "bound to loopback: {url}"
    );
    let template = dir.path().join("templates/email/unable/default.pl.txt");
    let v = chromium_test(&[
        "live",
        &url,
        template.to_str().unwrap(),
        "unable.reminder.email.pl",
        "ZMIANA-OK-123",
    ]);
    let ms = v["edit_visible_ms"].as_u64().unwrap();
    assert!(ms < 2000, "{v}");
    assert!(
        v["error_text"].as_str().unwrap().contains("default.pl.txt"),
        "{v}"
    );
}

/// Issue 16: every e-mail fits a phone (390 px) and a small tablet (800 px) without
/// scrolling sideways, shows its buttons, and prints no tracking address as text (the
/// plain-text part keeps it). The HTML part of every cell of the sample's gallery —
/// every cluster, stage and language the templates have — and of a customer who owes
/// in two currencies, as a reminder and as a payment-plan offer.
#[test]
fn in_chromium_every_email_fits_390_and_800_px_and_prints_no_tracking_address() {
    let _quiet = quiet();
    let dir = tempdir();
    let html = dir.path().join("html");
    std::fs::create_dir_all(&html).unwrap();
    let mut emls: Vec<(String, std::path::PathBuf)> = Vec::new();
    let gallery = dir.path().join("gallery");
    let r = preview("samples/campaign.yaml", &gallery, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for e in std::fs::read_dir(gallery.join("m")).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".eml") {
            emls.push((stem.to_string(), path));
        }
    }
    let gallery_emails = emls.len();
    for cluster in ["default", "unable"] {
        let campaign = two_currencies(dir.path(), cluster);
        let out = dir.path().join(format!("out-{cluster}"));
        let r = run_campaign(campaign.to_str().unwrap(), &out, &["--eml"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        for e in std::fs::read_dir(out.join("email")).unwrap() {
            let path = e.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            emls.push((format!("currencies-{cluster}.{stem}"), path));
        }
    }
    // Each e-mail's HTML part as a page of its own, and its payment links (from the
    // plain-text part, which prints them).
    let mut links: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (stem, path) in &emls {
        let bytes = std::fs::read(path).unwrap();
        let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let file = format!("{stem}.html");
        std::fs::write(html.join(&file), m.body_html(0).unwrap().as_bytes()).unwrap();
        let text = m.body_text(0).unwrap();
        // After a space or, in Japanese and Chinese, straight after a `：`.
        let mine: Vec<String> = text
            .split("https://")
            .skip(1)
            .map(|rest| format!("https://{}", rest.split_whitespace().next().unwrap_or("")))
            .filter(|l| l.contains("/p/") && l.contains("utm_"))
            .collect();
        assert!(!mine.is_empty(), "{file}: no payment link in the text part");
        links.insert(file, mine);
    }
    assert!(
        gallery_emails >= 140,
        "{gallery_emails} e-mails in the gallery"
    );
    let two = links
        .keys()
        .filter(|f| f.starts_with("currencies-") && f.contains("M-EP"))
        .count();
    assert_eq!(
        two, 2,
        "the two-currency customer's reminder and plan offer"
    );

    let v = node("emails.js", &[html.to_str().unwrap(), "390", "800"]);
    assert_eq!(v["files"].as_u64(), Some(emls.len() as u64), "{v}");
    assert_eq!(v["requests"].as_array().unwrap().len(), 0, "{v}");
    let mut wrong = Vec::new();
    for (width, rows) in v["widths"].as_object().unwrap() {
        for row in rows.as_array().unwrap() {
            let file = row["file"].as_str().unwrap();
            let (scroll, inner) = (row["scroll_width"].as_u64(), row["inner_width"].as_u64());
            if scroll > inner {
                wrong.push(format!(
                    "{file}: {} px wide in a {} px window (at {width} px)",
                    scroll.unwrap(),
                    inner.unwrap()
                ));
            }
            let seen: Vec<&str> = row["links"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            for link in &links[file] {
                if !seen.iter().any(|s| s.starts_with(link.as_str())) {
                    wrong.push(format!("{file}: no visible link to {link} (at {width} px)"));
                }
            }
        }
    }
    for (file, urls) in v["text_urls"].as_object().unwrap() {
        for url in urls.as_array().unwrap() {
            let url = url.as_str().unwrap();
            if url.contains("utm_") || url.contains("/p/") {
                wrong.push(format!("{file}: prints the payment link {url} as text"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} problems:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// tests/fixtures/currencies (a customer owing złoty and euro, one pounds, one yen) as a
/// campaign file in `dir`; with `unable`, rules that make everyone `unable`, so that their
/// e-mails offer the payment plan.
fn two_currencies(dir: &Path, cluster: &str) -> std::path::PathBuf {
    let fixture = root().join("tests/fixtures/currencies");
    let abs = |p: &str| fixture.join(p).display().to_string();
    let mut text = std::fs::read_to_string(fixture.join("campaign.yaml"))
        .unwrap()
        .replace(
            "customers: customers.csv",
            &format!("customers: {}", abs("customers.csv")),
        )
        .replace(
            "invoices: invoices.csv",
            &format!("invoices: {}", abs("invoices.csv")),
        )
        .replace(
            "../../../segments/default.yaml",
            &abs("../../../segments/default.yaml"),
        )
        .replace("../../../templates", &abs("../../../templates"));
    if cluster == "unable" {
        let rules = dir.join("everyone-unable.yaml");
        std::fs::write(
            &rules,
            "rules:\n  - name: everyone\n    cluster: unable\n    because: a test of the payment-plan e-mail\n",
        )
        .unwrap();
        text = text
            .replace(
                &abs("../../../segments/default.yaml"),
                &rules.display().to_string(),
            )
            .replace("matrix:\n  default:", "matrix:\n  unable:");
    }
    assert!(text.contains(&format!("matrix:\n  {cluster}:")), "{text}");
    let path = dir.join(format!("currencies-{cluster}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}
