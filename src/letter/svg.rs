//! Laid-out pages → SVG, for the gallery: drawn from the same [`Page`]s the PDF is
//! written from, each glyph as its outline from the same font file (allsorts reads
//! TrueType and CFF outlines), advanced by the same widths. What the editor sees is
//! what the print shop gets — glyphs, positions, page breaks — without a PDF renderer
//! in the build (hayro and its image and font stack were a quarter of a fresh build).

use super::fonts::{Face, FaceId, FontBook};
use super::layout::{Item, PAGE_H, PAGE_W, Page};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// One SVG document per page.
pub fn pages(book: &FontBook, pages: &[Page]) -> Vec<String> {
    let mut wanted: BTreeMap<FaceId, BTreeSet<u16>> = BTreeMap::new();
    for p in pages {
        for it in &p.items {
            if let Item::Text(g) = it {
                let face = book.face(g.face);
                wanted
                    .entry(g.face)
                    .or_default()
                    .extend(g.text.chars().filter_map(|c| glyph(face, c)));
            }
        }
    }
    let outlines: BTreeMap<FaceId, BTreeMap<u16, String>> = wanted
        .iter()
        .map(|(f, gids)| (*f, outlines(book.face(*f), gids)))
        .collect();
    pages.iter().map(|p| page(book, &outlines, p)).collect()
}

fn glyph(face: &Face, c: char) -> Option<u16> {
    face.font.lookup_glyph_index(c as u32).filter(|g| *g != 0)
}

/// PDF gray (0 black … 1 white) as an SVG colour.
fn gray(g: f32) -> String {
    let v = (g.clamp(0.0, 1.0) * 255.0).round() as u8;
    format!("#{v:02x}{v:02x}{v:02x}")
}

/// A coordinate, short: two decimals at most, no trailing zeros.
fn num(out: &mut String, v: f32) {
    let r = (v * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r }; // no "-0"
    let _ = write!(out, "{r}");
}

fn page(book: &FontBook, outlines: &BTreeMap<FaceId, BTreeMap<u16, String>>, p: &Page) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{PAGE_W:.2}\" height=\"{PAGE_H:.2}\" viewBox=\"0 0 {PAGE_W:.2} {PAGE_H:.2}\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><defs>"
    );
    // Each glyph used on this page once, referred to by every use of it.
    let mut used: BTreeSet<(FaceId, u16)> = BTreeSet::new();
    for it in &p.items {
        if let Item::Text(g) = it {
            let face = book.face(g.face);
            used.extend(
                g.text
                    .chars()
                    .filter_map(|c| Some((g.face, glyph(face, c)?))),
            );
        }
    }
    for (f, gid) in &used {
        if let Some(d) = outlines.get(f).and_then(|o| o.get(gid)) {
            let _ = write!(out, "<path id=\"g{}-{gid}\" d=\"{d}\"/>", f.0);
        }
    }
    out.push_str("</defs>");
    for it in &p.items {
        match it {
            Item::Rect {
                x,
                y,
                w,
                h,
                gray: g,
            } => {
                out.push_str("<rect x=\"");
                num(&mut out, *x);
                out.push_str("\" y=\"");
                num(&mut out, PAGE_H - y - h);
                out.push_str("\" width=\"");
                num(&mut out, *w);
                out.push_str("\" height=\"");
                num(&mut out, *h);
                let _ = write!(out, "\" fill=\"{}\"/>", gray(*g));
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
                out.push_str("<line x1=\"");
                num(&mut out, *x1);
                out.push_str("\" y1=\"");
                num(&mut out, PAGE_H - y1);
                out.push_str("\" x2=\"");
                num(&mut out, *x2);
                out.push_str("\" y2=\"");
                num(&mut out, PAGE_H - y2);
                out.push_str("\" stroke-width=\"");
                num(&mut out, *width);
                let _ = write!(out, "\" stroke=\"{}\"", gray(*g));
                if *dashed {
                    out.push_str(" stroke-dasharray=\"3 2\"");
                }
                out.push_str("/>");
            }
            Item::Text(g) => {
                let face = book.face(g.face);
                let upem = f32::from(face.font.units_per_em.max(1));
                let k = g.size / upem;
                let _ = write!(out, "<g fill=\"{}\"", gray(g.gray));
                if g.fake_bold {
                    // As the PDF: fill and stroke, 3.5 % of the size (in glyph units here).
                    let _ = write!(
                        out,
                        " stroke=\"{}\" stroke-width=\"{}\"",
                        gray(g.gray),
                        (0.035 * upem).round()
                    );
                }
                out.push('>');
                let mut x = g.x;
                for c in g.text.chars() {
                    if let Some(gid) = glyph(face, c)
                        && outlines.get(&g.face).is_some_and(|o| o.contains_key(&gid))
                    {
                        let _ = write!(
                            out,
                            "<use xlink:href=\"#g{}-{gid}\" transform=\"matrix(",
                            g.face.0
                        );
                        // The scale needs more digits than a coordinate (size / 1000 or 2048).
                        let _ = write!(out, "{k:.6} 0 0 {:.6} ", -k);
                        num(&mut out, x);
                        out.push(' ');
                        num(&mut out, PAGE_H - g.y);
                        out.push_str(")\"/>");
                    }
                    x += face.advance(c).unwrap_or(0.0) * g.size;
                }
                out.push_str("</g>");
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// Each glyph's outline as SVG path data, in font units (y up). A glyph the font
/// cannot outline is left out (its space stays).
fn outlines(face: &Face, gids: &BTreeSet<u16>) -> BTreeMap<u16, String> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::outline::OutlineBuilder;
    use allsorts::tables::FontTableProvider;
    let mut out = BTreeMap::new();
    let Ok(data) = ReadScope::new(&face.font.original_bytes).read::<FontData<'_>>() else {
        return out;
    };
    let Ok(provider) = data.table_provider(face.font.font_index as usize) else {
        return out;
    };
    let mut sink = PathData::default();
    let mut each = |visit: &mut dyn FnMut(u16, &mut PathData) -> bool| {
        for g in gids {
            sink.d.clear();
            if visit(*g, &mut sink) && !sink.d.is_empty() {
                out.insert(*g, std::mem::take(&mut sink.d));
            }
        }
    };
    if provider.has_table(allsorts::tag::GLYF) {
        let Ok(mut glyf) = allsorts::tables::glyf::LocaGlyf::load(&provider) else {
            return BTreeMap::new();
        };
        let mut ctx = allsorts::tables::glyf::GlyfVisitorContext::new(&mut glyf, None);
        each(&mut |g, s| ctx.visit(g, None, s).is_ok());
    } else if let Ok(table) = provider.read_table_data(allsorts::tag::CFF) {
        let Ok(cff) = ReadScope::new(&table).read::<allsorts::cff::CFF<'_>>() else {
            return BTreeMap::new();
        };
        let mut ctx = allsorts::cff::outline::CFFOutlines { table: &cff };
        each(&mut |g, s| ctx.visit(g, None, s).is_ok());
    }
    out
}

#[derive(Default)]
struct PathData {
    d: String,
}

impl PathData {
    fn pt(&mut self, p: allsorts::pathfinder_geometry::vector::Vector2F) {
        self.d.push(' ');
        num(&mut self.d, p.x());
        self.d.push(' ');
        num(&mut self.d, p.y());
    }
}

impl allsorts::outline::OutlineSink for PathData {
    fn move_to(&mut self, to: allsorts::pathfinder_geometry::vector::Vector2F) {
        self.d.push('M');
        self.pt(to);
    }
    fn line_to(&mut self, to: allsorts::pathfinder_geometry::vector::Vector2F) {
        self.d.push('L');
        self.pt(to);
    }
    fn quadratic_curve_to(
        &mut self,
        ctrl: allsorts::pathfinder_geometry::vector::Vector2F,
        to: allsorts::pathfinder_geometry::vector::Vector2F,
    ) {
        self.d.push('Q');
        self.pt(ctrl);
        self.pt(to);
    }
    fn cubic_curve_to(
        &mut self,
        ctrl: allsorts::pathfinder_geometry::line_segment::LineSegment2F,
        to: allsorts::pathfinder_geometry::vector::Vector2F,
    ) {
        self.d.push('C');
        self.pt(ctrl.from());
        self.pt(ctrl.to());
        self.pt(to);
    }
    fn close(&mut self) {
        self.d.push('Z');
    }
}
