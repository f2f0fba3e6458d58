//! The letter channel: a Markdown body (written by the credit team, rendered by Tera)
//! laid out as a print-ready A4 letter — letterhead, the address in the envelope window
//! (DIN 5008 form B, DIN 676 window by default), date and reference, the wording, the
//! invoice table, a payment slip with a QR code, page numbers — and written as a PDF
//! with its fonts embedded and subset.
//!
//! The slip never stands alone on a page: it goes below the text, compact if need be,
//! or the letter's last blocks go over to a new page with it; its cut line is drawn
//! only where the back of the sheet is blank.
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

impl Labels {
    /// The invoice table's seven column headings, in column order: the letter's table
    /// and the statement's spreadsheet both start from these.
    pub fn invoice_header(&self) -> [&str; 7] {
        [
            &self.invoice,
            &self.issued,
            &self.due,
            &self.days,
            &self.amount,
            &self.paid,
            &self.open,
        ]
    }
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
        header: labels
            .invoice_header()
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
    /// Phrases never broken across lines: the dates, amounts and account numbers the
    /// letter prints ([`Typesetter::keep_together`]).
    pub keep: Vec<String>,
    /// How the language sets the closing (`templates/words.yaml`).
    pub closing: &'a words::Closing,
    /// Something follows the letter's last page in the envelope (an enclosed invoice or
    /// statement), printed on its back: a slip there cannot be cut off.
    pub enclosed: bool,
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
/// The return line's sizes, tried largest first (DIN 5008 asks for a small type, 6 pt the
/// least that is still read).
const RETURN_SIZES: [f32; 3] = [7.0, 6.5, 6.0];
/// Blocks carried over with the slip when it does not fit below the text: the last
/// paragraph, the closing and the signature.
const CARRY_BLOCKS: usize = 3;
/// The least space between the text and a slip, mm.
const SLIP_GAP_MM: f32 = 6.0;

/// The return address line, as it fits the window.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnLine {
    pub text: String,
    pub size: f32,
}

/// What the creditor prints that must not break across lines: the phone number and the
/// IBANs in groups of four.
fn creditor_units(c: &crate::campaign::Creditor) -> Vec<String> {
    let mut out: Vec<String> = c.phone.iter().cloned().collect();
    out.extend(
        c.iban
            .iter()
            .chain(c.accounts.iter().filter_map(|a| a.iban.as_ref()))
            .map(|i| grouped(i)),
    );
    out
}

/// Whether slips of these heights (full, compact) fit below the text on its last page:
/// `Some(false)` in full, `Some(true)` compact, `None` not at all. No slips always fit.
fn slips_fit(flow: &Flow, heights: &[(f32, f32)]) -> Option<bool> {
    let room = flow.y - SLIP_GAP_MM * MM - flow.floor();
    [false, true].into_iter().find(|&compact| {
        heights
            .iter()
            .map(|h| if compact { h.1 } else { h.0 })
            .sum::<f32>()
            <= room
    })
}

/// An IBAN as printed: in groups of four, however the campaign wrote it.
fn grouped(iban: &str) -> String {
    crate::payment::account::fours(&iban.split_whitespace().collect::<String>())
}

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
    /// The creditor's return address does not fit on one line of the window (the same
    /// for every letter: `run` and `check` stop on it before any letter is made).
    ReturnLine(String),
}

impl Unfit {
    /// Why this customer's letter is not made; None when the problem is the creditor's
    /// (every letter would fail alike).
    pub fn unmade(&self) -> Option<crate::diag::Unmade> {
        match self {
            Unfit::MissingGlyph(_) => Some(crate::diag::Unmade::MissingGlyph),
            Unfit::AddressTooLong { .. } => Some(crate::diag::Unmade::AddressTooLong),
            Unfit::ReturnLine(_) => None,
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
            Unfit::ReturnLine(why) => f.write_str(why),
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

    /// Stops the campaign (exit 1, before any letter is made) when the creditor's return
    /// address cannot be set on one line of its window.
    pub fn check_creditor(&self, campaign: &crate::campaign::Campaign) -> Result<()> {
        self.return_line(&campaign.creditor)
            .map(drop)
            .map_err(|why| {
                Error::Config(vec![Diagnostic::whole_file(
                    &campaign.path,
                    format!("creditor: {why}"),
                )])
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
    ///
    /// The payment slips go at the foot of the last page with text: in full when they
    /// fit there, else compact; when not even that fits, the letter is laid out again
    /// with its last blocks carried over to a new page, so that the slip never stands
    /// alone on a page of its own.
    pub fn compose(&self, l: &Letter) -> std::result::Result<Composed, Unfit> {
        let ret = self.return_line(l.creditor).map_err(Unfit::ReturnLine)?;
        let mut ts = Typesetter::new(&self.book, l.locale);
        ts.keep_together(&l.keep);
        ts.keep_together(creditor_units(l.creditor));
        let labels = self.labels(l.locale);
        // Each slip's height in full and compact.
        let heights: Vec<(f32, f32)> = l
            .slips
            .iter()
            .map(|s| {
                (
                    self.slip_height(&mut ts, s, labels, false),
                    self.slip_height(&mut ts, s, labels, true),
                )
            })
            .collect();
        let mut stops = Vec::new();
        let (mut flow, fit) = loop {
            let flow = self.body(&mut ts, l, labels, &ret, &stops)?;
            let fit = slips_fit(&flow, &heights);
            if l.slips.is_empty() || stops.len() == 3 {
                break (flow, fit);
            }
            match self.carry_point(&flow, fit.is_none()) {
                Some(stop) if !stops.contains(&stop) => stops.push(stop),
                _ => break (flow, fit),
            }
        };
        match fit {
            Some(compact) => {
                // The slip can be cut off where the back of its sheet is blank: on the
                // letter's last page printed on the front of a sheet (print.pdf prints
                // duplex, each letter from a front page) with nothing enclosed after
                // it. Then it goes to the foot of the page, above the footer, so that
                // only the slip is below the line; otherwise right below the text.
                let last = flow.pages.len();
                let cut = last % 2 == 1 && !l.enclosed;
                let mut top = if cut {
                    flow.bottom
                        + heights
                            .iter()
                            .map(|h| if compact { h.1 } else { h.0 })
                            .sum::<f32>()
                } else {
                    flow.y - SLIP_GAP_MM * MM
                };
                let (x, w) = (flow.left, flow.width);
                for slip in &l.slips {
                    let page = flow.page();
                    top -= self.slip(&mut ts, page, slip, labels, (x, w, top), compact, cut, true);
                }
            }
            None => {
                // More slips than a page holds (many currencies), or a last page that
                // is one block: one after another, each on a new page if need be.
                flow.y -= SLIP_GAP_MM * MM;
                for (slip, h) in l.slips.iter().zip(&heights) {
                    flow.ensure(h.0);
                    let (x, w, top) = (flow.left, flow.width, flow.y);
                    let page = flow.page();
                    flow.y -=
                        self.slip(&mut ts, page, slip, labels, (x, w, top), false, false, true);
                }
            }
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

    /// The first page's furniture and the wording with its tables, pages ending early at
    /// `stops` (page, height).
    fn body(
        &self,
        ts: &mut Typesetter,
        l: &Letter,
        labels: &Labels,
        ret: &ReturnLine,
        stops: &[(usize, f32)],
    ) -> std::result::Result<Flow, Unfit> {
        let mut flow = Flow::new(
            PAGE_H - self.config.body_top_mm * MM,
            25.0 * MM,
            165.0 * MM,
            22.0 * MM,
            24.0 * MM,
        );
        flow.stops = stops.to_vec();
        self.first_page(ts, &mut flow.pages[0], l, labels, ret)?;
        layout::markdown(ts, &mut flow, l.markdown, &l.tables, l.closing);
        Ok(flow)
    }

    /// Where to end a page early so that the slip's page holds the letter's last
    /// [`CARRY_BLOCKS`] blocks (the last paragraph, the closing, the signature) with it:
    /// when the slips do not fit below the text (`must`), before the last page's last
    /// blocks, which go over to a new page; when they do but that page, not the first,
    /// holds fewer blocks (a signature alone), on the page before. None when nothing
    /// needs to move, or nothing can: a page is never left empty.
    fn carry_point(&self, flow: &Flow, must: bool) -> Option<(usize, f32)> {
        let last = flow.pages.len() - 1;
        let top = |page: usize| {
            if page == 0 {
                PAGE_H - self.config.body_top_mm * MM
            } else {
                PAGE_H - flow.top_next
            }
        };
        let marks: Vec<(usize, f32)> = flow
            .marks
            .iter()
            .filter(|&&(p, y)| y < top(p) - 1.0)
            .copied()
            .collect();
        if must {
            let at = marks.len().saturating_sub(CARRY_BLOCKS);
            marks.get(at).copied()
        } else {
            let at = marks.len().checked_sub(CARRY_BLOCKS)?;
            marks.get(at).copied().filter(|&(p, _)| p < last)
        }
    }

    /// The return address on the window's return line: the creditor's name and address
    /// lines, one line at the largest of [`RETURN_SIZES`] it fits at; with
    /// `creditor.short_name` for the name if only that fits. A return address that
    /// wraps is read by no sorting machine and was half hidden by the window.
    pub fn return_line(
        &self,
        c: &crate::campaign::Creditor,
    ) -> std::result::Result<ReturnLine, String> {
        let mut ts = Typesetter::new(&self.book, "en");
        let w = &self.config.window;
        let width = (w.width_mm - 2.0 * WINDOW_PADDING_MM) * MM;
        let line = |name: &str| {
            std::iter::once(name)
                .chain(c.address.iter().map(String::as_str))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let full = line(&c.name);
        let mut forms = vec![full.clone()];
        if let Some(short) = c
            .short_name
            .as_deref()
            .filter(|s| s.trim() != c.name.trim())
        {
            forms.push(line(short));
        }
        for text in &forms {
            for size in RETURN_SIZES {
                if ts.width(&[Span::new(text.as_str(), Style::REGULAR)], size) <= width {
                    return Ok(ReturnLine {
                        text: text.clone(),
                        size,
                    });
                }
            }
        }
        let smallest = RETURN_SIZES[RETURN_SIZES.len() - 1];
        let needed = ts.width(
            &[Span::new(forms.last().unwrap().as_str(), Style::REGULAR)],
            smallest,
        );
        Err(format!(
            "the return address `{full}` does not fit on one line of the envelope window even at {smallest} pt ({:.0} mm needed, {:.0} mm there): expected shorter creditor.address lines, a creditor.short_name, or a wider letters.window",
            needed / MM,
            width / MM
        ))
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
        ret: &ReturnLine,
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
        // One line, its size chosen by `return_line`: set it without breaking.
        let baseline = top(w.top_mm + 9.0) - ret.size * 0.93;
        for ln in ts.wrap(
            &[Span::new(ret.text.as_str(), Style::REGULAR)],
            ret.size,
            f32::MAX,
        ) {
            for (text, face, fb, dx) in &ln.pieces {
                page.items.push(Item::Text(layout::Glyphs {
                    face: *face,
                    fake_bold: *fb,
                    size: ret.size,
                    x: x + dx,
                    y: baseline,
                    text: text.clone(),
                    gray: 0.25,
                }));
            }
        }
        let under = top(w.top_mm + 9.0) - ret.size * 1.15 - 0.5;
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

    /// The height a slip takes (what [`Letters::slip`] returns), measured by setting it
    /// on a page that is thrown away (without its QR code, which has a fixed size).
    fn slip_height(&self, ts: &mut Typesetter, s: &Slip, labels: &Labels, compact: bool) -> f32 {
        let mut scratch = Page::default();
        let at = (25.0 * MM, 165.0 * MM, PAGE_H);
        self.slip(ts, &mut scratch, s, labels, at, compact, false, false)
    }

    /// A payment slip from `top` down, `x` and `w` the text's margins; returns its
    /// height. In full: one row per line at 10 pt and a 34 mm QR code. Compact (to fit
    /// below a letter's text on its page): the account in one column, the amount, date
    /// and reference in a second, a 25 mm QR code. Above it a dashed line to cut along
    /// when `cut`, else a plain rule. `qr`: draw the code's modules (not to measure).
    #[allow(clippy::too_many_arguments)]
    fn slip(
        &self,
        ts: &mut Typesetter,
        page: &mut Page,
        s: &Slip,
        labels: &Labels,
        (x, w, top): (f32, f32, f32),
        compact: bool,
        cut: bool,
        qr: bool,
    ) -> f32 {
        page.items.push(if cut {
            Item::Rule {
                x1: x - 5.0 * MM,
                y1: top,
                x2: x + w + 5.0 * MM,
                y2: top,
                width: 0.5,
                gray: 0.45,
                dashed: true,
            }
        } else {
            Item::Rule {
                x1: x,
                y1: top,
                x2: x + w,
                y2: top,
                width: 0.4,
                gray: 0.6,
                dashed: false,
            }
        });
        let title = match &s.currency {
            Some(c) => format!("{} · {c}", labels.slip),
            None => labels.slip.clone(),
        };
        let account = std::iter::once((labels.beneficiary.as_str(), s.beneficiary.as_str(), false))
            .chain(
                s.account
                    .iter()
                    .map(|(l, v)| (l.as_str(), v.as_str(), false)),
            );
        let due = [
            (labels.amount.as_str(), s.amount.as_str(), true),
            (labels.pay_by.as_str(), s.pay_by.as_str(), false),
            (labels.reference.as_str(), s.reference.as_str(), true),
        ];
        let style = |strong: bool| if strong { Style::BOLD } else { Style::REGULAR };
        // (label size, value size, label width, value offset, value width, step) of a row.
        let row = |ts: &mut Typesetter,
                   page: &mut Page,
                   y: f32,
                   (label, value, strong): (&str, &str, bool),
                   (ls, vs, lw, vx, vw): (f32, f32, f32, f32, f32)| {
            let hl = text_box(
                ts,
                page,
                &[Span::new(label, Style::REGULAR)],
                ls,
                ls * 1.3,
                x,
                y,
                lw,
                Align::Left,
                0.35,
            );
            let hv = text_box(
                ts,
                page,
                &[Span::new(value, style(strong))],
                vs,
                vs * 1.2,
                x + vx,
                y,
                vw,
                Align::Left,
                0.0,
            );
            hl.max(hv)
        };
        let (bottom, qr_size, qr_top, caption) = if compact {
            text_box(
                ts,
                page,
                &[Span::new(title, Style::BOLD)],
                9.5,
                11.0,
                x,
                top - 3.0 * MM,
                110.0 * MM,
                Align::Left,
                0.0,
            );
            let mut y = top - 8.5 * MM;
            for r in account {
                y -= row(ts, page, y, r, (7.0, 8.5, 22.0 * MM, 23.0 * MM, 63.0 * MM)).max(10.2)
                    + 0.6 * MM;
            }
            // The amount, the date and the reference: label over value, beside the account.
            let bx = x + 88.0 * MM;
            let mut by = top - 8.5 * MM;
            for (label, value, strong) in due {
                let hl = text_box(
                    ts,
                    page,
                    &[Span::new(label, Style::REGULAR)],
                    7.0,
                    8.5,
                    bx,
                    by,
                    47.0 * MM,
                    Align::Left,
                    0.35,
                );
                let size = if strong { 10.0 } else { 9.0 };
                let hv = text_box(
                    ts,
                    page,
                    &[Span::new(value, style(strong))],
                    size,
                    size * 1.2,
                    bx,
                    by - hl,
                    47.0 * MM,
                    Align::Left,
                    0.0,
                );
                by -= hl + hv + 1.0 * MM;
            }
            (y.min(by), 25.0 * MM, top - 3.0 * MM, (6.5, 7.5))
        } else {
            text_box(
                ts,
                page,
                &[Span::new(title, Style::BOLD)],
                11.0,
                13.0,
                x,
                top - 5.0 * MM,
                110.0 * MM,
                Align::Left,
                0.0,
            );
            let mut y = top - 12.0 * MM;
            for r in account.chain(due) {
                y -= row(ts, page, y, r, (8.5, 10.0, 32.0 * MM, 34.0 * MM, 80.0 * MM)).max(12.0)
                    + 1.2 * MM;
            }
            (y, 34.0 * MM, top - 4.0 * MM, (7.5, 9.0))
        };
        // The QR with its quiet zone (4 modules) on white.
        let mut qr_bottom = top;
        // Measured, a slip is taken to have its code (it always has: a link or EPC).
        let code = if qr {
            crate::payment::qr::matrix(&s.qr)
        } else {
            Some((0, Vec::new()))
        };
        if let Some((n, dark)) = code {
            let module = qr_size / (n as f32 + 8.0);
            let qx = x + w - qr_size;
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
                            y: qr_top - (4 + r + 1) as f32 * module,
                            w: (c - start) as f32 * module,
                            h: module,
                            gray: 0.0,
                        });
                    } else {
                        c += 1;
                    }
                }
            }
            let text = if s.epc {
                &labels.scan_bank
            } else {
                &labels.scan_link
            };
            let h = text_box(
                ts,
                page,
                &[Span::new(text.clone(), Style::REGULAR)],
                caption.0,
                caption.1,
                qx,
                qr_top - qr_size,
                qr_size,
                Align::Center,
                0.3,
            );
            qr_bottom = qr_top - qr_size - h;
        }
        top - bottom.min(qr_bottom) + if compact { 2.0 } else { 3.0 } * MM
    }

    /// On every page: the creditor's bank line and the page number; a running head
    /// from page 2 on so a loose sheet finds its letter.
    fn furniture(&self, ts: &mut Typesetter, page: &mut Page, l: &Letter, k: usize, n: usize) {
        let c = l.creditor;
        let mut parts: Vec<String> = vec![c.name.clone()];
        if let Some(iban) = &c.iban {
            parts.push(format!("IBAN {}", grouped(iban)));
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

    fn letters() -> Letters {
        Letters::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
            LetterConfig::default(),
        )
        .unwrap()
    }

    fn creditor(name: &str, short: Option<&str>) -> crate::campaign::Creditor {
        crate::campaign::Creditor {
            name: name.into(),
            short_name: short.map(String::from),
            address: vec![
                "Keizersgracht 123".into(),
                "1015 CJ Amsterdam".into(),
                "Netherlands".into(),
            ],
            iban: Some("NL91ABNA0417164300".into()),
            phone: Some("+31 20 555 0100".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_return_address_is_one_line_or_the_campaign_is_refused() {
        let l = letters();
        let (width, _) = area(&Window::default());
        let mut ts = Typesetter::new(&l.book, "en");
        // Short enough: the full name, at the largest size it fits.
        let short = crate::campaign::Creditor {
            address: vec![
                "Friedrichstraße 100".into(),
                "10117 Berlin".into(),
                "Germany".into(),
            ],
            ..creditor("Nordlicht Energie GmbH", None)
        };
        let r = l.return_line(&short).unwrap();
        assert_eq!(
            r.text,
            "Nordlicht Energie GmbH · Friedrichstraße 100 · 10117 Berlin · Germany"
        );
        assert!(ts.width(&[Span::new(r.text.as_str(), Style::REGULAR)], r.size) <= width);
        // The sample's full name and address need 84 mm at 6 pt; the window has 75: the
        // short name stands in for the name.
        let r = l
            .return_line(&creditor(
                "Nordlicht Utilities Europe B.V.",
                Some("Nordlicht"),
            ))
            .unwrap();
        assert_eq!(
            r.text,
            "Nordlicht · Keizersgracht 123 · 1015 CJ Amsterdam · Netherlands"
        );
        assert!(r.size >= 6.0);
        assert!(ts.width(&[Span::new(r.text.as_str(), Style::REGULAR)], r.size) <= width);
        // Without one it cannot be one line, and says so (run and check stop on it).
        let why = l
            .return_line(&creditor("Nordlicht Utilities Europe B.V.", None))
            .unwrap_err();
        assert!(
            why.contains("does not fit on one line") && why.contains("creditor.short_name"),
            "{why}"
        );
    }

    /// A letter of `paragraphs` paragraphs with one slip.
    fn compose(l: &Letters, paragraphs: usize, enclosed: bool) -> Composed {
        let c = creditor("Nordlicht Utilities Europe B.V.", Some("Nordlicht"));
        let md: String = std::iter::once("# Payment reminder\n\nDear Margaret,\n\n".to_string())
            .chain((1..=paragraphs).map(|k| {
                format!("Paragraph {k}: according to our records the invoice below is still open; please pay it by December 4, 2026.\n\n")
            }))
            .chain(["Kind regards,\n\nNordlicht Utilities Europe B.V.\n".to_string()])
            .collect();
        let closing = words::Closing::default();
        let letter = Letter {
            id: "T-1-letter",
            locale: "en",
            markdown: &md,
            creditor: &c,
            recipient: vec![
                "Margaret O'Brien".into(),
                "14 Harbour Street".into(),
                "Dublin".into(),
            ],
            recipient_name: 0,
            customer_id: "T-1",
            date: "November 20, 2026".into(),
            date_unix: 0,
            tables: Vec::new(),
            slips: vec![Slip {
                currency: None,
                beneficiary: c.name.clone(),
                account: vec![
                    ("IBAN".into(), "NL91 ABNA 0417 1643 00".into()),
                    ("BIC".into(), "ABNANL2A".into()),
                ],
                amount: "€123.45".into(),
                pay_by: "December 4, 2026".into(),
                reference: "RF18T1".into(),
                qr: "https://pay.example/p/T-1".into(),
                epc: false,
            }],
            reference: "RF18T1".into(),
            title: "Payment reminder".into(),
            keep: vec!["December 4, 2026".into()],
            closing: &closing,
            enclosed,
        };
        l.compose(&letter).unwrap()
    }

    fn texts_of(page: &Page) -> Vec<&str> {
        page.items
            .iter()
            .filter_map(|i| match i {
                Item::Text(g) => Some(g.text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_slip_never_stands_alone_and_has_a_cut_line_only_where_it_can_be_cut() {
        let l = letters();
        let mut pages_seen = std::collections::BTreeSet::new();
        let mut sizes = std::collections::BTreeSet::new();
        for paragraphs in 0..=40 {
            for enclosed in [false, true] {
                let c = compose(&l, paragraphs, enclosed);
                let pages = &c.drawing.pages;
                pages_seen.insert(pages.len());
                let with_slip: Vec<usize> = (0..pages.len())
                    .filter(|&k| texts_of(&pages[k]).contains(&"Payment slip"))
                    .collect();
                assert_eq!(
                    with_slip,
                    [pages.len() - 1],
                    "{paragraphs}: the slip on the last page"
                );
                let last = &pages[pages.len() - 1];
                // Never alone: the letter's own words are on its page too.
                assert!(
                    texts_of(last).contains(&"Kind regards,"),
                    "{paragraphs}: the slip's page has no text of the letter: {:?}",
                    texts_of(last)
                );
                let dashed = last
                    .items
                    .iter()
                    .any(|i| matches!(i, Item::Rule { dashed: true, .. }));
                assert_eq!(
                    dashed,
                    pages.len() % 2 == 1 && !enclosed,
                    "{paragraphs} paragraphs, {} pages, enclosed {enclosed}: a cut line where the back of the sheet is blank",
                    pages.len()
                );
                // The title's size tells the compact slip from the full one.
                let title = last.items.iter().find_map(|i| match i {
                    Item::Text(g) if g.text == "Payment slip" => Some(g.size),
                    _ => None,
                });
                sizes.insert((title.unwrap() * 10.0) as u32);
            }
        }
        assert_eq!(sizes.len(), 2, "full and compact slips: {sizes:?}");
        assert!(
            pages_seen.contains(&1) && pages_seen.contains(&2) && pages_seen.contains(&3),
            "{pages_seen:?}"
        );
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
