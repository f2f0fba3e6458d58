//! The letter channel: a Markdown body (written by the credit team, rendered by Tera)
//! laid out as a print-ready A4 letter — letterhead, the address in the envelope window
//! (DIN 5008 form B, DIN 676 window by default), date and reference, the wording, the
//! invoice table, a payment slip with a QR code, page numbers — and written as a PDF
//! with its fonts embedded and subset.
//!
//! `fonts` picks a face per character, `layout` breaks lines and fills pages, `pdf`
//! writes the file, `svg` draws the same pages for the gallery, `print` binds all letters for the print shop; the slip's QR code and
//! reference come from `payment`.

pub mod address;
pub mod fonts;
pub mod layout;
pub mod pdf;
pub mod print;
pub mod svg;
pub mod words;

use crate::diag::{Diagnostic, Error, Result};
use fonts::{FontBook, Style};
use layout::{Align, Flow, Item, MM, PAGE_H, Page, Span, Table, Typesetter, text_box};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::campaign::letters::{
    INFO_LEFT_MM, LETTERHEAD_BOTTOM_MM, LetterConfig, MAX_BODY_TOP_MM, MIN_WINDOW_HEIGHT_MM,
    MIN_WINDOW_WIDTH_MM, RETURN_ZONE_MM, WINDOW_PADDING_MM, Window,
};

/// The sizes the recipient's address is tried at, with their line spacing (pt): 10 pt
/// as DIN 5008 asks, down to 8 pt, the smallest it allows, before a letter is refused.
const ADDRESS_SIZES: [(f32, f32); 3] = [(10.0, 11.5), (9.0, 10.35), (8.0, 9.2)];
/// The words on a letter that are not the template's: table headings, slip labels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    pub date: String,
    pub customer: String,
    pub reference: String,
    pub invoice: String,
    pub issued: String,
    pub due: String,
    pub days: String,
    pub amount: String,
    pub paid: String,
    pub open: String,
    pub total: String,
    pub slip: String,
    pub beneficiary: String,
    pub iban: String,
    pub bic: String,
    pub pay_by: String,
    pub scan_bank: String,
    pub scan_link: String,
}

/// Everything a run needs to make letters: fonts and labels, loaded once.
pub struct Letters {
    /// Shared with each letter's [`Drawing`].
    pub book: std::sync::Arc<FontBook>,
    labels: BTreeMap<String, Labels>,
    pub config: LetterConfig,
}

impl std::fmt::Debug for Letters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letters")
            .field("fonts", &self.book)
            .finish()
    }
}

/// A letter's title: its first Markdown heading, unescaped (the PDF's title, the
/// manifest's subject).
pub fn title_of(markdown: &str) -> String {
    markdown
        .lines()
        .find_map(|l| l.trim().strip_prefix('#'))
        .map(|h| h.trim_start_matches('#').trim().replace('\\', ""))
        .unwrap_or_default()
}

/// The invoice table of letters and statements: its header in the letter's words and its
/// column widths, with these parts (one per currency).
pub fn invoice_table(labels: &Labels, parts: Vec<layout::TablePart>) -> Table {
    Table {
        header: [
            &labels.invoice,
            &labels.issued,
            &labels.due,
            &labels.days,
            &labels.amount,
            &labels.paid,
            &labels.open,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        parts,
        widths: vec![2.05, 1.4, 1.4, 1.3, 1.75, 1.45, 1.75],
        first_number: 3,
    }
}

/// The payment slip's contents, formatted.
#[derive(Debug, Clone)]
pub struct Slip {
    /// Set when the letter has a slip per currency: its title says which.
    pub currency: Option<String>,
    pub beneficiary: String,
    /// The account's lines, labelled in the letter's language (IBAN, sort code, …).
    pub account: Vec<(String, String)>,
    pub amount: String,
    pub pay_by: String,
    pub reference: String,
    /// What the QR code holds: the EPC payload (`epc`) or the payment link.
    pub qr: String,
    pub epc: bool,
}

/// One letter, ready to lay out.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    /// Names the file and seeds its IDs.
    pub id: &'a str,
    pub locale: &'a str,
    pub markdown: &'a str,
    pub creditor: &'a crate::campaign::Creditor,
    /// The name and address lines in the destination's order ([`address::Recipient`]).
    pub recipient: Vec<String>,
    /// Which of them is the name (set in bold).
    pub recipient_name: usize,
    pub customer_id: &'a str,
    pub date: String,
    pub date_unix: i64,
    /// The invoice table, then any others the template places (a statement's).
    pub tables: Vec<Table>,
    /// One per currency claimed, the main currency first (none on a statement).
    pub slips: Vec<Slip>,
    /// The payment reference printed in the information block.
    pub reference: String,
    pub title: String,
}

pub struct Composed {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// The same letter as PDF objects, for binding into print.pdf.
    pub objects: lopdf::Document,
    pub drawing: Drawing,
}

impl Composed {
    /// The letter as posted: its own pages, then the pages of `documents` (the claimed
    /// invoices as issued). The file is written again from the objects — the letter's
    /// own bytes untouched, the trailer `/ID` again a hash of the file — so
    /// `letters/ID.pdf`, print.pdf and a later `outbox cutoff`, which binds print.pdf
    /// again from the letters' files, all hold the same pages. Returns the pages added.
    pub fn enclose(&mut self, documents: Vec<lopdf::Document>) -> usize {
        if documents.is_empty() {
            return 0;
        }
        let added = print::enclose(&mut self.objects, documents);
        let mut bytes = Vec::with_capacity(self.bytes.len());
        self.objects.save_to(&mut bytes).expect("writing to memory");
        pdf::stable_id(&mut bytes);
        self.bytes = bytes;
        self.pages += added;
        added
    }
}

/// A letter's laid-out pages with the fonts they are set in: what the PDF was written
/// from, kept so the gallery can draw the pages (`svg`) without reading the PDF back.
#[derive(Clone)]
pub struct Drawing {
    pages: Vec<Page>,
    book: std::sync::Arc<FontBook>,
    /// The recipient's part of the envelope window on page 1.
    window: Rect,
}

/// A rectangle of a page, in points from its bottom left corner (the PDF's way).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rect {
    left: f32,
    right: f32,
    top: f32,
    bottom: f32,
}

impl Drawing {
    /// The text set in the recipient's part of the envelope window, a line per
    /// baseline, top to bottom: what the post office will read, read back from the
    /// layout rather than from what was meant to be set (the gallery checks it against
    /// the customer's address).
    pub fn window_lines(&self) -> Vec<String> {
        let Some(page) = self.pages.first() else {
            return Vec::new();
        };
        let w = self.window;
        let mut pieces: Vec<(f32, f32, &str)> = page
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Text(g)
                    if g.x >= w.left - 0.5 && g.x < w.right && g.y <= w.top && g.y >= w.bottom =>
                {
                    Some((g.y, g.x, g.text.as_str()))
                }
                _ => None,
            })
            .collect();
        // Top to bottom (y grows upwards), left to right.
        pieces.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
        let mut lines: Vec<(f32, String)> = Vec::new();
        for (y, _, text) in pieces {
            match lines.last_mut() {
                Some((at, line)) if (*at - y).abs() < 0.5 => line.push_str(text),
                _ => lines.push((y, text.to_string())),
            }
        }
        lines.into_iter().map(|(_, l)| l).collect()
    }

    /// One SVG document per page.
    pub fn svg_pages(&self) -> Vec<String> {
        svg::pages(&self.book, &self.pages)
    }

    /// Drops the pages (the fonts are shared): for holders that will not draw them.
    pub fn forget(&mut self) {
        self.pages = Vec::new();
    }
}

impl std::fmt::Debug for Drawing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drawing")
            .field("pages", &self.pages.len())
            .finish()
    }
}

impl std::fmt::Debug for Composed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composed")
            .field("bytes", &self.bytes.len())
            .field("pages", &self.pages)
            .finish()
    }
}

const FOOTER_SIZE: f32 = 7.0;

/// Why a letter cannot be composed: a fact about one customer's data (an emoji in a
/// name, an address too long for the window), not about the template, so `run`
/// excludes that letter instead of stopping the campaign.
#[derive(Clone, Debug, PartialEq)]
pub enum Unfit {
    /// Characters no font has a glyph for, in the order met.
    MissingGlyph(Vec<char>),
    /// The address needs `needed` lines even at 8 pt; the window (`letters.window`,
    /// in mm) holds `fits`.
    AddressTooLong {
        needed: usize,
        fits: usize,
        height_mm: f32,
        width_mm: f32,
    },
}

impl Unfit {
    pub fn unmade(&self) -> crate::diag::Unmade {
        match self {
            Unfit::MissingGlyph(_) => crate::diag::Unmade::MissingGlyph,
            Unfit::AddressTooLong { .. } => crate::diag::Unmade::AddressTooLong,
        }
    }
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unfit::MissingGlyph(chars) => {
                let list: Vec<String> = chars
                    .iter()
                    .map(|c| format!("`{c}` (U+{:04X})", *c as u32))
                    .collect();
                write!(
                    f,
                    "no font in templates/fonts/ has a glyph for {} (add a font that covers it)",
                    list.join(", ")
                )
            }
            Unfit::AddressTooLong {
                needed,
                fits,
                height_mm,
                width_mm,
            } => write!(
                f,
                "the recipient's address needs {needed} lines even at 8 pt, and the envelope window holds {fits} (letters.window.height_mm {} less the {RETURN_ZONE_MM} mm return-address zone, width_mm {}): the letter is not printed rather than posted with part of its address hidden (expected a taller or wider window, or shorter address lines)",
                height_mm, width_mm
            ),
        }
    }
}

impl Letters {
    /// Fonts from `templates/fonts/`, labels from `templates/letter/labels.yaml`.
    pub fn load(templates: &Path, config: LetterConfig) -> Result<Letters> {
        let book = std::sync::Arc::new(FontBook::load(&templates.join("fonts"))?);
        let path = templates.join("letter/labels.yaml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let labels: BTreeMap<String, Labels> = serde_saphyr::from_str(&text).map_err(|e| {
            Error::Config(vec![Diagnostic::whole_file(
                &path,
                format!("{e} (expected locale: {{date: …, customer: …, …}})"),
            )])
        })?;
        if !labels.contains_key("en") {
            return Err(Error::Config(vec![Diagnostic::whole_file(
                &path,
                "needs `en` labels, the last fallback",
            )]));
        }
        Ok(Letters {
            book,
            labels,
            config,
        })
    }

    /// The labels for a locale: its own, its language's, else English.
    pub fn labels(&self, locale: &str) -> &Labels {
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        self.labels
            .get(locale)
            .or_else(|| self.labels.get(lang))
            .unwrap_or(&self.labels["en"])
    }

    /// Lays out and writes one letter. Fails, naming the characters, if a character has
    /// no glyph in any font: a letter never prints an empty box.
    pub fn compose(&self, l: &Letter) -> std::result::Result<Composed, Unfit> {
        let mut ts = Typesetter::new(&self.book, l.locale);
        let labels = self.labels(l.locale);
        let cfg = &self.config;
        let top = |mm: f32| PAGE_H - mm * MM;
        let mut flow = Flow {
            pages: vec![Page::default()],
            y: top(cfg.body_top_mm),
            left: 25.0 * MM,
            width: 165.0 * MM,
            top_next: 22.0 * MM,
            bottom: 24.0 * MM,
        };
        self.first_page(&mut ts, &mut flow.pages[0], l, labels)?;
        layout::markdown(&mut ts, &mut flow, l.markdown, &l.tables);
        for slip in &l.slips {
            self.slip(&mut ts, &mut flow, slip, labels);
        }
        let n = flow.pages.len();
        for (k, page) in flow.pages.iter_mut().enumerate() {
            self.furniture(&mut ts, page, l, k + 1, n);
        }
        if !ts.missing.is_empty() {
            return Err(Unfit::MissingGlyph(std::mem::take(&mut ts.missing)));
        }
        let (bytes, objects) = pdf::write(
            &self.book,
            &flow.pages,
            &pdf::Meta {
                title: &l.title,
                author: &l.creditor.name,
                seed: l.id,
                date_unix: l.date_unix,
            },
        );
        Ok(Composed {
            bytes,
            pages: n,
            objects,
            drawing: Drawing {
                pages: flow.pages,
                book: self.book.clone(),
                window: self.recipient_area(),
            },
        })
    }

    /// Where the recipient's lines are set on page 1 (pt, the PDF's coordinates): the
    /// window below its return-address zone.
    fn recipient_area(&self) -> Rect {
        let w = &self.config.window;
        Rect {
            left: w.left_mm * MM,
            right: (w.left_mm + w.width_mm) * MM,
            top: PAGE_H - (w.top_mm + RETURN_ZONE_MM) * MM,
            bottom: PAGE_H - (w.top_mm + w.height_mm) * MM,
        }
    }

    /// Letterhead, return address and recipient in the window, the information block.
    /// Fails when the recipient's address does not fit the window even at 8 pt: a letter
    /// with part of its address hidden by the envelope would not arrive.
    fn first_page(
        &self,
        ts: &mut Typesetter,
        page: &mut Page,
        l: &Letter,
        labels: &Labels,
    ) -> std::result::Result<(), Unfit> {
        let top = |mm: f32| PAGE_H - mm * MM;
        let c = l.creditor;
        text_box(
            ts,
            page,
            &[Span::new(c.name.clone(), Style::BOLD)],
            14.0,
            17.0,
            25.0 * MM,
            top(14.0),
            100.0 * MM,
            Align::Left,
            0.0,
        );
        let contact: Vec<&str> = c
            .address
            .iter()
            .map(String::as_str)
            .chain(c.phone.as_deref())
            .chain(c.email.as_deref())
            .chain(c.website.as_deref())
            .collect();
        for (k, line) in contact.iter().enumerate() {
            text_box(
                ts,
                page,
                &[Span::new(*line, Style::REGULAR)],
                8.0,
                10.0,
                125.0 * MM,
                top(14.0) - k as f32 * 10.0,
                65.0 * MM,
                Align::Right,
                0.3,
            );
        }

        // The window: a return line (so the post office can send it back), then the
        // recipient from 17.7 mm down (DIN 5008: 5 + 9 lines).
        let w = &self.config.window;
        let x = (w.left_mm + WINDOW_PADDING_MM) * MM;
        let width = (w.width_mm - 2.0 * WINDOW_PADDING_MM) * MM;
        let ret = std::iter::once(c.name.as_str())
            .chain(c.address.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" · ");
        let h = text_box(
            ts,
            page,
            &[Span::new(ret, Style::REGULAR)],
            6.5,
            7.5,
            x,
            top(w.top_mm + 9.0),
            width,
            Align::Left,
            0.25,
        );
        let under = top(w.top_mm + 9.0) - h - 0.5;
        page.items.push(Item::Rule {
            x1: x,
            y1: under,
            x2: x + width,
            y2: under,
            width: 0.3,
            gray: 0.4,
            dashed: false,
        });
        let (size, leading, lines) = fit_address(
            ts,
            &l.recipient,
            l.recipient_name,
            width,
            (w.height_mm - RETURN_ZONE_MM) * MM,
        )
        .map_err(|(needed, fits)| Unfit::AddressTooLong {
            needed,
            fits,
            height_mm: w.height_mm,
            width_mm: w.width_mm,
        })?;
        let mut y = top(w.top_mm + RETURN_ZONE_MM);
        for ln in &lines {
            let baseline = y - size * 0.93;
            for (text, face, fb, dx) in &ln.pieces {
                page.items.push(Item::Text(layout::Glyphs {
                    face: *face,
                    fake_bold: *fb,
                    size,
                    x: x + dx,
                    y: baseline,
                    text: text.clone(),
                    gray: 0.0,
                }));
            }
            y -= leading;
        }

        // The information block, right of the window.
        let rows = [
            (&labels.date, l.date.as_str()),
            (&labels.customer, l.customer_id),
            (&labels.reference, l.reference.as_str()),
        ];
        let mut y = top(w.top_mm + 5.0);
        for (label, value) in rows {
            text_box(
                ts,
                page,
                &[Span::new(label.clone(), Style::REGULAR)],
                7.5,
                9.0,
                125.0 * MM,
                y,
                65.0 * MM,
                Align::Left,
                0.35,
            );
            let h = text_box(
                ts,
                page,
                &[Span::new(value, Style::REGULAR)],
                9.0,
                11.0,
                125.0 * MM,
                y - 9.0,
                65.0 * MM,
                Align::Left,
                0.0,
            );
            y -= 9.0 + h + 3.0;
        }

        if self.config.fold_marks {
            for (mm, len) in [(105.0, 5.0), (148.5, 8.0), (210.0, 5.0)] {
                page.items.push(Item::Rule {
                    x1: 3.0 * MM,
                    y1: top(mm),
                    x2: (3.0 + len) * MM,
                    y2: top(mm),
                    width: 0.4,
                    gray: 0.5,
                    dashed: false,
                });
            }
        }
        Ok(())
    }

    /// The payment slip: after the wording, on a new page if it does not fit.
    fn slip(&self, ts: &mut Typesetter, flow: &mut Flow, s: &Slip, labels: &Labels) {
        let mut rows: Vec<(&str, &str, bool)> = vec![(&labels.beneficiary, &s.beneficiary, false)];
        for (label, value) in &s.account {
            rows.push((label, value, false));
        }
        rows.push((&labels.amount, &s.amount, true));
        rows.push((&labels.pay_by, &s.pay_by, false));
        rows.push((&labels.reference, &s.reference, true));
        // A zengin account has more lines than an IBAN: the slip grows, never overflows.
        let height = (54.0 * MM).max(16.0 * MM + rows.len() as f32 * 5.6 * MM);
        flow.y -= 4.0 * MM;
        flow.ensure(height);
        let y0 = flow.y;
        let (l, w) = (flow.left, flow.width);
        let page = flow.page();
        page.items.push(Item::Rule {
            x1: l - 5.0 * MM,
            y1: y0,
            x2: l + w + 5.0 * MM,
            y2: y0,
            width: 0.5,
            gray: 0.45,
            dashed: true,
        });
        text_box(
            ts,
            page,
            &[Span::new(
                match &s.currency {
                    Some(c) => format!("{} · {c}", labels.slip),
                    None => labels.slip.clone(),
                },
                Style::BOLD,
            )],
            11.0,
            13.0,
            l,
            y0 - 5.0 * MM,
            110.0 * MM,
            Align::Left,
            0.0,
        );
        let mut y = y0 - 12.0 * MM;
        for (label, value, strong) in rows {
            text_box(
                ts,
                page,
                &[Span::new(label, Style::REGULAR)],
                8.5,
                11.0,
                l,
                y,
                32.0 * MM,
                Align::Left,
                0.35,
            );
            let style = if strong { Style::BOLD } else { Style::REGULAR };
            let h = text_box(
                ts,
                page,
                &[Span::new(value, style)],
                10.0,
                12.0,
                l + 34.0 * MM,
                y,
                80.0 * MM,
                Align::Left,
                0.0,
            );
            y -= h.max(12.0) + 1.2 * MM;
        }
        // The QR with its quiet zone (4 modules) on white, 34 mm square.
        if let Some((n, dark)) = crate::payment::qr::matrix(&s.qr) {
            let size = 34.0 * MM;
            let module = size / (n as f32 + 8.0);
            let qx = l + w - size;
            let qy = y0 - 4.0 * MM;
            for r in 0..n {
                let mut c = 0;
                while c < n {
                    if dark[r * n + c] {
                        let start = c;
                        while c < n && dark[r * n + c] {
                            c += 1;
                        }
                        page.items.push(Item::Rect {
                            x: qx + (4 + start) as f32 * module,
                            y: qy - (4 + r + 1) as f32 * module,
                            w: (c - start) as f32 * module,
                            h: module,
                            gray: 0.0,
                        });
                    } else {
                        c += 1;
                    }
                }
            }
            let caption = if s.epc {
                &labels.scan_bank
            } else {
                &labels.scan_link
            };
            text_box(
                ts,
                page,
                &[Span::new(caption.clone(), Style::REGULAR)],
                7.5,
                9.0,
                qx,
                qy - size,
                size,
                Align::Center,
                0.3,
            );
        }
        flow.y = y0 - height;
    }

    /// On every page: the creditor's bank line and the page number; a running head
    /// from page 2 on so a loose sheet finds its letter.
    fn furniture(&self, ts: &mut Typesetter, page: &mut Page, l: &Letter, k: usize, n: usize) {
        let c = l.creditor;
        let mut parts: Vec<String> = vec![c.name.clone()];
        if let Some(iban) = &c.iban {
            parts.push(format!("IBAN {iban}"));
        }
        if let Some(bic) = &c.bic {
            parts.push(format!("BIC {bic}"));
        }
        if let Some(vat) = &c.vat_id {
            parts.push(vat.clone());
        }
        let y = 15.0 * MM;
        page.items.push(Item::Rule {
            x1: 25.0 * MM,
            y1: y + 2.0 * MM,
            x2: 190.0 * MM,
            y2: y + 2.0 * MM,
            width: 0.3,
            gray: 0.6,
            dashed: false,
        });
        text_box(
            ts,
            page,
            &[Span::new(parts.join(" · "), Style::REGULAR)],
            FOOTER_SIZE,
            8.5,
            25.0 * MM,
            y,
            140.0 * MM,
            Align::Left,
            0.35,
        );
        text_box(
            ts,
            page,
            &[Span::new(format!("{k} / {n}"), Style::REGULAR)],
            8.0,
            9.0,
            165.0 * MM,
            y,
            25.0 * MM,
            Align::Right,
            0.2,
        );
        if k > 1 {
            let head = format!(
                "{} · {} · {}",
                l.recipient.get(l.recipient_name).map_or("", String::as_str),
                l.customer_id,
                l.date
            );
            text_box(
                ts,
                page,
                &[Span::new(head, Style::REGULAR)],
                7.5,
                9.0,
                25.0 * MM,
                PAGE_H - 12.0 * MM,
                165.0 * MM,
                Align::Left,
                0.35,
            );
        }
    }
}

/// The recipient (the name, line `name`, in bold; the address lines) wrapped to the window's text
/// `width`, at the largest of [`ADDRESS_SIZES`] at which every line fits in `height`
/// (points): (size, leading, lines). Otherwise the lines needed at the smallest size and
/// the lines the window holds — never a line dropped or printed below the window.
fn fit_address(
    ts: &mut Typesetter,
    recipient: &[impl AsRef<str>],
    name: usize,
    width: f32,
    height: f32,
) -> std::result::Result<(f32, f32, Vec<layout::Line>), (usize, usize)> {
    let mut needed = (0, 0);
    for (size, leading) in ADDRESS_SIZES {
        let mut lines = Vec::new();
        for (k, line) in recipient.iter().enumerate() {
            let style = if k == name {
                Style::BOLD
            } else {
                Style::REGULAR
            };
            lines.extend(ts.wrap(&[Span::new(line.as_ref(), style)], size, width));
        }
        // A small tolerance: 45 mm less 17.7 mm is 6.7 lines of 11.5 pt, not 6.69.
        let fits = ((height + 0.01) / leading).floor().max(0.0) as usize;
        if lines.len() <= fits {
            return Ok((size, leading, lines));
        }
        needed = (lines.len(), fits);
    }
    Err(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> FontBook {
        FontBook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/fonts")).unwrap()
    }

    /// The recipient area of a window (text width, height below the return zone), pt.
    fn area(w: &Window) -> (f32, f32) {
        (
            (w.width_mm - 2.0 * WINDOW_PADDING_MM) * MM,
            (w.height_mm - RETURN_ZONE_MM) * MM,
        )
    }

    const SEVEN: [&str; 7] = [
        "Emily Williams",
        "High Street 59",
        "Flat 2",
        "EH1 182",
        "Edinburgh",
        "Scotland",
        "GB",
    ];

    #[test]
    fn an_address_of_seven_lines_fits_the_din_window_smaller_never_cut() {
        let b = book();
        let mut ts = Typesetter::new(&b, "en");
        let (width, height) = area(&Window::default());
        // Six lines: 10 pt, as before.
        let (size, _, lines) = fit_address(&mut ts, &SEVEN[..6], 0, width, height).unwrap();
        assert_eq!((size, lines.len()), (10.0, 6));
        // Seven (name, two street lines, postcode, town, region, country) used to lose
        // the country below the window; now every line is set, at 9 pt.
        let (size, leading, lines) = fit_address(&mut ts, &SEVEN, 0, width, height).unwrap();
        assert_eq!((size, lines.len()), (9.0, 7));
        assert!(lines.len() as f32 * leading <= height);
    }

    #[test]
    fn an_address_the_window_cannot_hold_is_refused() {
        let b = book();
        let mut ts = Typesetter::new(&b, "en");
        let w = Window {
            height_mm: MIN_WINDOW_HEIGHT_MM,
            ..Window::default()
        };
        let (width, height) = area(&w);
        assert_eq!(
            fit_address(&mut ts, &SEVEN, 0, width, height).unwrap_err(),
            (7, 3)
        );
        // Long lines wrap; when the wrapped lines do not fit, the letter is refused too.
        let long = "Unit 4, The Old Granary Business Centre, Long Meadow Industrial Estate";
        let (width, height) = area(&Window::default());
        let many = [SEVEN[0], long, long, long, long, long, SEVEN[6]];
        let (needed, fits) = fit_address(&mut ts, &many, 0, width, height).unwrap_err();
        assert!(needed > fits && fits == 8, "{needed} {fits}");
    }

    #[test]
    fn windows_off_the_page_or_too_small_are_named() {
        let keys = |c: &LetterConfig| -> Vec<String> {
            c.problems().into_iter().map(|(k, _)| k.join(".")).collect()
        };
        assert!(keys(&LetterConfig::default()).is_empty());
        let with = |f: fn(&mut LetterConfig)| {
            let mut c = LetterConfig::default();
            f(&mut c);
            keys(&c)
        };
        assert_eq!(with(|c| c.window.left_mm = f32::NAN), ["window.left_mm"]);
        assert_eq!(with(|c| c.body_top_mm = f32::INFINITY), ["body_top_mm"]);
        assert_eq!(with(|c| c.window.top_mm = 1000.0), ["window.top_mm"]);
        assert_eq!(with(|c| c.window.top_mm = 5.0), ["window.top_mm"]);
        assert_eq!(with(|c| c.window.left_mm = 500.0), ["window.left_mm"]);
        assert_eq!(with(|c| c.window.left_mm = -1.0), ["window.left_mm"]);
        assert_eq!(with(|c| c.window.width_mm = 0.0), ["window.width_mm"]);
        assert_eq!(with(|c| c.window.height_mm = 1.0), ["window.height_mm"]);
        assert_eq!(with(|c| c.body_top_mm = 280.0), ["body_top_mm"]);
        // DIN 5008 form A: the window 27 mm from the top.
        assert!(
            with(|c| {
                c.window.top_mm = 27.0;
                c.body_top_mm = 80.0;
            })
            .is_empty()
        );
    }
}
