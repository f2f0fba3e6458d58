//! Laid-out pages → PDF bytes with printpdf: fonts subset here (with allsorts, the font
//! library printpdf itself is built on) to the glyphs the letter uses and embedded by
//! printpdf, and nothing taken from the clock or a random source, so the same letter
//! is the same file on every run and every thread count.

use super::fonts::{FaceId, FontBook};
use super::layout::{Item, PAGE_H, PAGE_W, Page};
use printpdf::ParsedFont;
use printpdf::{
    Color, FontId, Greyscale, Line, LineDashPattern, LinePoint, Mm, Op, PaintMode, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, TextItem, TextMatrix,
    TextRenderingMode,
};
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};

fn gray(g: f32) -> Color {
    Color::Greyscale(Greyscale {
        percent: g,
        icc_profile: None,
    })
}

/// Six capital letters for the subset tag (`ABCDEF+NotoSans-Regular`), from the letter
/// and the face: stable, and different for different subsets.
fn subset_tag(seed: &str, face: FaceId) -> String {
    let d = sha2::Sha256::digest(format!("{seed}\0{}", face.0).as_bytes());
    d[..6].iter().map(|b| char::from(b'A' + b % 26)).collect()
}

pub struct Meta<'a> {
    pub title: &'a str,
    pub author: &'a str,
    /// Names the letter: seeds the font tags and the document ID.
    pub seed: &'a str,
    /// The letter's date, as seconds since 1970 (the campaign's `as_of`).
    pub date_unix: i64,
}

/// The letter's bytes, and its objects for `print::prepare` (already compressed, so
/// print.pdf does not parse or compress again).
pub fn write(book: &FontBook, pages: &[Page], meta: &Meta) -> (Vec<u8>, lopdf::Document) {
    let mut doc = PdfDocument::new(meta.title);
    if let Ok(d) = printpdf::OffsetDateTime::from_unix_timestamp(meta.date_unix) {
        doc.metadata.info.creation_date = d;
        doc.metadata.info.modification_date = d;
        doc.metadata.info.metadata_date = d;
    }
    doc.metadata.info.author = meta.author.to_string();
    doc.metadata.info.creator = "dunwell".into();
    doc.metadata.info.producer = "dunwell (printpdf)".into();

    let mut ids: BTreeMap<FaceId, FontId> = BTreeMap::new();
    let mut used: BTreeMap<FaceId, BTreeSet<char>> = BTreeMap::new();
    for p in pages {
        for it in &p.items {
            if let Item::Text(g) = it {
                ids.entry(g.face)
                    .or_insert_with(|| FontId(subset_tag(meta.seed, g.face)));
                used.entry(g.face).or_default().extend(g.text.chars());
            }
        }
    }
    for (face, id) in &ids {
        let font = subset(book, *face, &used[face], &id.0);
        doc.resources
            .fonts
            .map
            .insert(id.clone(), printpdf::PdfFont::new(font));
    }

    let pdf_pages = pages
        .iter()
        .map(|p| PdfPage::new(Mm(210.0), Mm(297.0), ops(p, &ids)))
        .collect();
    let opts = PdfSaveOptions {
        subset_fonts: true,
        ..PdfSaveOptions::default()
    };
    let doc = doc.with_pages(pdf_pages);
    let mut lo = printpdf::serialize::to_lopdf_doc(doc, &opts, &mut Vec::new());
    compress(&mut lo);
    let mut bytes = Vec::with_capacity(64 * 1024);
    lo.save_to(&mut bytes).expect("writing to memory");
    stable_id(&mut bytes);
    (bytes, lo)
}

/// The face cut down to .notdef and the glyphs of `chars`, renumbered in glyph order,
/// named `TAG+PostScriptName` (ISO 32000-1, 9.6.4). printpdf embeds it as it is.
fn subset(book: &FontBook, face: FaceId, chars: &BTreeSet<char>, tag: &str) -> ParsedFont {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile};
    let face = book.face(face);
    let whole = &face.font;
    let gid = |c: &char| whole.lookup_glyph_index(*c as u32).filter(|g| *g != 0);
    // .notdef first: allsorts numbers the subset's glyphs by their place in this list.
    let glyphs: Vec<u16> = std::iter::once(0)
        .chain(chars.iter().filter_map(gid).collect::<BTreeSet<u16>>())
        .collect();
    let cut = ReadScope::new(&whole.original_bytes)
        .read::<FontData<'_>>()
        .ok()
        .and_then(|data| data.table_provider(whole.font_index as usize).ok())
        .and_then(|provider| {
            allsorts::subset::subset(&provider, &glyphs, &SubsetProfile::Pdf, CmapTarget::Unicode)
                .ok()
        })
        .and_then(|bytes| ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()));
    match cut {
        Some(mut font) => {
            // Characters map to their glyph's new number (not through the subset's own
            // cmap, which need not list a glyph that several characters share).
            font.codepoint_to_glyph = chars
                .iter()
                .filter_map(|c| {
                    let new = glyphs.binary_search(&gid(c)?).ok()?;
                    Some((*c as u32, new as u16))
                })
                .collect();
            font.font_name = Some(format!("{tag}+{}", face.ps_name));
            // The PDF profile drops OS/2, whose weight printpdf's /StemV is taken from.
            font.pdf_font_metrics.us_weight_class = whole.pdf_font_metrics.us_weight_class;
            font
        }
        // A face allsorts cannot cut is embedded whole, without a subset tag.
        None => {
            let mut font = whole.clone();
            font.font_name = Some(face.ps_name.clone());
            font
        }
    }
}

/// Deflate at zlib's default level: printpdf asks lopdf for level 9, which costs a fifth
/// of a letter's time for about 1 % smaller files.
fn compress(doc: &mut lopdf::Document) {
    use std::io::Write;
    for obj in doc.objects.values_mut() {
        let lopdf::Object::Stream(s) = obj else {
            continue;
        };
        if !s.allows_compression || s.dict.has(b"Filter") || s.content.len() < 64 {
            continue;
        }
        let mut e = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(s.content.len() / 2),
            flate2::Compression::default(),
        );
        if e.write_all(&s.content).is_err() {
            continue;
        }
        if let Ok(packed) = e.finish()
            && packed.len() < s.content.len()
        {
            s.dict
                .set("Filter", lopdf::Object::Name(b"FlateDecode".to_vec()));
            s.set_content(packed);
        }
    }
}

fn ops(page: &Page, ids: &BTreeMap<FaceId, FontId>) -> Vec<Op> {
    let mut out = Vec::new();
    // Shapes first, then all text in one text object.
    for it in &page.items {
        match it {
            Item::Rect {
                x,
                y,
                w,
                h,
                gray: g,
            } => {
                out.push(Op::SetFillColor { col: gray(*g) });
                out.push(Op::DrawRectangle {
                    rectangle: Rect {
                        x: Pt(*x),
                        y: Pt(*y),
                        width: Pt(*w),
                        height: Pt(*h),
                        mode: Some(PaintMode::Fill),
                        winding_order: None,
                    },
                });
            }
            Item::Rule {
                x1,
                y1,
                x2,
                y2,
                width,
                gray: g,
                dashed,
            } => {
                out.push(Op::SetOutlineColor { col: gray(*g) });
                out.push(Op::SetOutlineThickness { pt: Pt(*width) });
                out.push(Op::SetLineDashPattern {
                    dash: if *dashed {
                        LineDashPattern::new(0.0, &[3.0, 2.0])
                    } else {
                        LineDashPattern::new(0.0, &[])
                    },
                });
                let pt = |x: f32, y: f32| LinePoint {
                    p: Point { x: Pt(x), y: Pt(y) },
                    bezier: false,
                };
                out.push(Op::DrawLine {
                    line: Line {
                        points: vec![pt(*x1, *y1), pt(*x2, *y2)],
                        is_closed: false,
                    },
                });
            }
            Item::Text(_) => {}
        }
    }
    out.push(Op::StartTextSection);
    let mut font: Option<(FaceId, f32)> = None;
    let mut fill: Option<f32> = None;
    let mut fake = false;
    for it in &page.items {
        let Item::Text(g) = it else { continue };
        if font != Some((g.face, g.size)) {
            out.push(Op::SetFont {
                font: PdfFontHandle::External(ids[&g.face].clone()),
                size: Pt(g.size),
            });
            font = Some((g.face, g.size));
        }
        if fill != Some(g.gray) {
            out.push(Op::SetFillColor { col: gray(g.gray) });
            out.push(Op::SetOutlineColor { col: gray(g.gray) });
            fill = Some(g.gray);
        }
        if g.fake_bold != fake {
            out.push(Op::SetTextRenderingMode {
                mode: if g.fake_bold {
                    TextRenderingMode::FillStroke
                } else {
                    TextRenderingMode::Fill
                },
            });
            if g.fake_bold {
                out.push(Op::SetOutlineThickness {
                    pt: Pt(g.size * 0.035),
                });
            }
            fake = g.fake_bold;
        }
        out.push(Op::SetTextMatrix {
            matrix: TextMatrix::Translate(Pt(g.x), Pt(g.y)),
        });
        out.push(Op::ShowText {
            items: vec![TextItem::Text(g.text.clone())],
        });
    }
    out.push(Op::EndTextSection);
    let _ = (PAGE_W, PAGE_H);
    out
}

/// printpdf draws the trailer's `/ID` from a process-wide counter; it is replaced, in
/// place and at the same length, by a hash of the file.
pub(super) fn stable_id(bytes: &mut [u8]) {
    let tail_from = bytes.len().saturating_sub(1024);
    let Some(at) = memchr::memmem::rfind(&bytes[tail_from..], b"/ID[(") else {
        return;
    };
    let start = tail_from + at + 5;
    let Some(len) = bytes[start..].iter().position(|b| *b == b')') else {
        return;
    };
    let mut h = sha2::Sha256::new();
    h.update(&bytes[..start]);
    let hex = crate::hash::hex(&h.finalize());
    let id = hex.as_bytes();
    for k in 0..len {
        bytes[start + k] = id[k % id.len()].to_ascii_uppercase();
    }
    // The second string (instance id) is the same for a file never edited.
    let second = start + len + 2;
    if bytes.get(second - 1) == Some(&b'(') {
        for k in 0..len {
            if bytes.get(second + k) == Some(&b')') {
                break;
            }
            bytes[second + k] = id[k % id.len()].to_ascii_uppercase();
        }
    }
}
