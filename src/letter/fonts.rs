//! The letter fonts: loaded once per run from `templates/fonts/`, shared by every render
//! thread, and picked per character so that no character comes out as an empty box.
//!
//! Roles come from the file names: `NotoSans-{Regular,Bold,Italic,BoldItalic}.ttf` for
//! Latin (with Greek and Cyrillic), `NotoSansCJKjp-Regular.otf` and
//! `NotoSansCJKsc-Regular.otf` for Japanese and Chinese. Any other `.ttf`/`.otf` in the
//! folder is a last-resort fallback (a Thai or Hebrew font, say), tried in name order.
//! Japanese text prefers the JP face and Chinese the SC face, because the same Han
//! character is drawn differently in the two (CJK unification).

use crate::diag::{Diagnostic, Error, Result};
use printpdf::ParsedFont;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaceId(pub u8);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub italic: bool,
}

impl Style {
    pub const REGULAR: Style = Style {
        bold: false,
        italic: false,
    };
    pub const BOLD: Style = Style {
        bold: true,
        italic: false,
    };
}

pub struct Face {
    pub file: String,
    /// The whole face: its bytes, cmap and advances (printpdf's parser, on allsorts).
    pub font: ParsedFont,
    /// The PostScript name (`NotoSans-Regular`), for `/BaseFont` after the subset tag.
    pub ps_name: String,
    upem: f32,
    /// Advance of each ASCII character in font units; `u16::MAX` when the face lacks it.
    ascii: [u16; 128],
    pub bold: bool,
}

impl Face {
    fn load(path: &Path, bold: bool) -> Result<Face> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let font = ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).ok_or_else(|| {
            Error::Config(vec![Diagnostic::whole_file(
                path,
                "not a font dunwell can read (expected a TrueType or OpenType file)",
            )])
        })?;
        let upem = f32::from(font.units_per_em.max(1));
        let mut ascii = [u16::MAX; 128];
        for (c, slot) in ascii.iter_mut().enumerate() {
            if let Some(g) = font.lookup_glyph_index(c as u32).filter(|g| *g != 0) {
                *slot = font.get_glyph_width(g).unwrap_or(0);
            }
        }
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ps_name = postscript_name(&bytes).unwrap_or_else(|| {
            file.rsplit_once('.')
                .map_or(file.as_str(), |(stem, _)| stem)
                .to_string()
        });
        Ok(Face {
            file,
            font,
            ps_name,
            upem,
            ascii,
            bold,
        })
    }

    /// Advance of `c` in em, or `None` if the face has no glyph for it.
    #[inline]
    pub fn advance(&self, c: char) -> Option<f32> {
        let units = if (c as u32) < 128 {
            let a = self.ascii[c as usize];
            (a != u16::MAX).then_some(a)?
        } else {
            let g = self.font.lookup_glyph_index(c as u32).filter(|g| *g != 0)?;
            self.font.get_glyph_width(g).unwrap_or(0)
        };
        Some(f32::from(units) / self.upem)
    }
}

/// The face's PostScript name from its `name` table (ID 6), if it has one.
fn postscript_name(bytes: &[u8]) -> Option<String> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::tables::{FontTableProvider, NameTable};
    let data = ReadScope::new(bytes).read::<FontData<'_>>().ok()?;
    let provider = data.table_provider(0).ok()?;
    let table = provider.read_table_data(allsorts::tag::NAME).ok()?;
    let name = ReadScope::new(&table).read::<NameTable<'_>>().ok()?;
    name.string_for_id(NameTable::POSTSCRIPT_NAME)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic()))
}

/// Which faces to try, in order, for one (locale, style).
#[derive(Clone, Debug)]
pub struct Chain {
    faces: Vec<FaceId>,
}

pub struct FontBook {
    pub faces: Vec<Face>,
    /// Latin regular, bold, italic, bold italic.
    latin: [Option<FaceId>; 4],
    jp: Option<FaceId>,
    sc: Option<FaceId>,
    extra: Vec<FaceId>,
}

impl std::fmt::Debug for FontBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.faces.iter().map(|x| &x.file))
            .finish()
    }
}

const LATIN: [&str; 4] = [
    "NotoSans-Regular.ttf",
    "NotoSans-Bold.ttf",
    "NotoSans-Italic.ttf",
    "NotoSans-BoldItalic.ttf",
];

impl FontBook {
    /// Loads the faces in `dir`. The Latin regular face is required; the rest widen the
    /// coverage.
    pub fn load(dir: &Path) -> Result<FontBook> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| {
                Error::Config(vec![Diagnostic::whole_file(
                    dir,
                    format!("letters need fonts: {e} (expected {} and the other Noto fonts shipped in templates/fonts/)", LATIN[0]),
                )])
            })?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                let l = n.to_ascii_lowercase();
                l.ends_with(".ttf") || l.ends_with(".otf")
            })
            .collect();
        names.sort();
        if !names.iter().any(|n| n == LATIN[0]) {
            return Err(Error::Config(vec![Diagnostic::whole_file(
                dir,
                format!("letters need {} in this folder", LATIN[0]),
            )]));
        }
        let mut book = FontBook {
            faces: Vec::new(),
            latin: [None; 4],
            jp: None,
            sc: None,
            extra: Vec::new(),
        };
        for name in &names {
            let bold = name.contains("Bold");
            let id = FaceId(book.faces.len() as u8);
            book.faces.push(Face::load(&dir.join(name), bold)?);
            if let Some(k) = LATIN.iter().position(|l| l == name) {
                book.latin[k] = Some(id);
            } else if name.starts_with("NotoSansCJKjp") {
                book.jp = Some(id);
            } else if name.starts_with("NotoSansCJKsc") {
                book.sc = Some(id);
            } else {
                book.extra.push(id);
            }
        }
        Ok(book)
    }

    pub fn face(&self, id: FaceId) -> &Face {
        &self.faces[id.0 as usize]
    }

    /// The faces to try for text in `locale` written in `style`.
    pub fn chain(&self, locale: &str, style: Style) -> Chain {
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        let k = usize::from(style.bold) + 2 * usize::from(style.italic);
        let latin = [self.latin[k], self.latin[k & 1], self.latin[0]];
        let mut faces: Vec<FaceId> = Vec::new();
        let mut push = |f: Option<FaceId>| {
            if let Some(f) = f
                && !faces.contains(&f)
            {
                faces.push(f);
            }
        };
        match lang {
            "ja" => [self.jp, self.sc]
                .into_iter()
                .chain(latin)
                .for_each(&mut push),
            "zh" => [self.sc, self.jp]
                .into_iter()
                .chain(latin)
                .for_each(&mut push),
            _ => latin
                .into_iter()
                .chain([self.jp, self.sc])
                .for_each(&mut push),
        }
        for f in &self.extra {
            push(Some(*f));
        }
        Chain { faces }
    }

    /// The face that draws `c` (the first in the chain that has it), and its advance in em.
    #[inline]
    pub fn pick(&self, chain: &Chain, c: char) -> Option<(FaceId, f32)> {
        chain
            .faces
            .iter()
            .find_map(|&f| self.face(f).advance(c).map(|a| (f, a)))
    }

    /// Characters no face can draw (control characters aside).
    pub fn missing(&self, chain: &Chain, text: &str) -> Vec<char> {
        let mut out: Vec<char> = text
            .chars()
            .filter(|c| !c.is_control() && !is_invisible(*c) && self.pick(chain, *c).is_none())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Characters that take no room and need no glyph.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{FEFF}' | '\u{00AD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> FontBook {
        FontBook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/fonts")).unwrap()
    }

    #[test]
    fn every_sample_script_has_a_face() {
        let b = book();
        for (locale, text) in [
            ("pl", "Zażółć gęślą jaźń ZAŻÓŁĆ GĘŚLĄ JAŹŃ"),
            ("ro", "Ș ș Ț ț Ă ă Â â Î î"),
            ("lv", "Ā ā Č č Ē ē Ģ ģ Ī ī Ķ ķ Ļ ļ Ņ ņ Š š Ū ū Ž ž"),
            ("it", "È è É é Ì ì Ò ò Ù ù à"),
            ("ja", "株式会社サクラ商事 様、お支払いのお願い。１２３"),
            ("zh", "尊敬的客户：您好！请于十二月四日前付款。"),
            ("en", "€ £ ¥ zł № – — „“ ‚‘ « » · • …"),
        ] {
            for style in [Style::REGULAR, Style::BOLD] {
                let chain = b.chain(locale, style);
                assert_eq!(b.missing(&chain, text), Vec::<char>::new(), "{locale}");
            }
        }
    }

    #[test]
    fn language_picks_the_han_face() {
        let b = book();
        let (ja, _) = b.pick(&b.chain("ja", Style::REGULAR), '様').unwrap();
        let (zh, _) = b.pick(&b.chain("zh", Style::REGULAR), '您').unwrap();
        assert!(b.face(ja).file.contains("jp"));
        assert!(b.face(zh).file.contains("sc"));
        // A Latin letter to a Japanese name still finds the glyphs.
        let (f, _) = b.pick(&b.chain("en", Style::REGULAR), '桜').unwrap();
        assert!(b.face(f).file.contains("CJK"));
        assert!(
            b.pick(&b.chain("en", Style::REGULAR), '\u{10FFFD}')
                .is_none()
        );
    }
}
