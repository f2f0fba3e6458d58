//! A letter's pages as SVG for the gallery, drawn from the PDF itself by hayro (a
//! PDF renderer): what the print shop gets is what the editor sees, glyphs included.

/// One SVG per page; a PDF hayro cannot read gives a message instead of pages.
pub fn svg_pages(pdf: &[u8]) -> Result<Vec<String>, String> {
    use hayro_svg::hayro_interpret::InterpreterSettings;
    use hayro_svg::hayro_syntax::Pdf;
    use hayro_svg::{RenderCache, SvgRenderSettings, convert};

    let pdf = Pdf::new(pdf.to_vec()).map_err(|e| format!("cannot read the letter: {e:?}"))?;
    let cache = RenderCache::new();
    let settings = InterpreterSettings::default();
    let render = SvgRenderSettings {
        bg_color: [255, 255, 255, 255],
    };
    Ok(pdf
        .pages()
        .iter()
        .map(|page| convert(page, &cache, &settings, &render))
        .collect())
}
