//! SMS text: which encoding it needs, how many segments it costs, and how to keep it in
//! GSM-7 when a locale allows.
//!
//! GSM 03.38: 127 characters in 7 bits, ten more (`^{}\[~]|€` and form feed) in 14 bits
//! through the escape table. Anything else — `ą`, `ș`, Japanese, an emoji — turns the
//! whole message into UCS-2 (16 bits per UTF-16 unit). A single SMS carries 140 bytes;
//! a concatenated one loses 6 of them to the header: 160/153 GSM-7 characters, 70/67
//! UCS-2 units. A character (a grapheme: an emoji with modifiers is one) is never split
//! across segments. This is the algorithm carriers bill by, and the one Twilio's
//! `sms-segments-calculator` implements; the tests compare both on a corpus.

use unicode_segmentation::UnicodeSegmentation;

const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENDED: &str = "\u{0C}^{}\\[~]|€";
const SINGLE_BITS: u32 = 140 * 8;
const HEADER_BITS: u32 = 6 * 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }
}

/// What an SMS text costs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sms {
    pub encoding: Encoding,
    pub segments: u32,
    /// Characters as the network counts them: septets (GSM-7, escaped ones count 2) or
    /// UTF-16 units (UCS-2).
    pub units: u32,
    /// The characters that forced UCS-2, in order of first appearance.
    pub non_gsm: Vec<String>,
}

/// Bits per ASCII character (0: not in GSM-7); most SMS text is ASCII.
static ASCII_BITS: std::sync::LazyLock<[u8; 128]> = std::sync::LazyLock::new(|| {
    let mut t = [0u8; 128];
    for (i, bits) in t.iter_mut().enumerate() {
        let c = char::from(i as u8);
        *bits = if BASIC.contains(c) {
            7
        } else if EXTENDED.contains(c) {
            14
        } else {
            0
        };
    }
    t
});

fn gsm_bits(c: char) -> Option<u32> {
    if c.is_ascii() {
        return match ASCII_BITS[c as usize] {
            0 => None,
            b => Some(u32::from(b)),
        };
    }
    if BASIC.contains(c) {
        Some(7)
    } else if EXTENDED.contains(c) {
        Some(14)
    } else {
        None
    }
}

/// Graphemes as carriers see them: `\r\n` is two characters.
fn characters(text: &str) -> impl Iterator<Item = &str> {
    // Only `\r\n` holds a `\r` among graphemes: splitting after it yields `\r`, `\n`.
    text.graphemes(true).flat_map(|g| g.split_inclusive('\r'))
}

fn single_gsm_char(g: &str) -> Option<u32> {
    let mut cs = g.chars();
    match (cs.next(), cs.next()) {
        (Some(c), None) if c.len_utf16() == 1 => gsm_bits(c),
        _ => None,
    }
}

pub fn analyse(text: &str) -> Sms {
    let mut non_gsm: Vec<String> = Vec::new();
    for g in characters(text) {
        if single_gsm_char(g).is_none() && !non_gsm.iter().any(|n| n == g) {
            non_gsm.push(g.to_string());
        }
    }
    let encoding = if non_gsm.is_empty() {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    };
    let sizes: Vec<u32> = characters(text)
        .map(|g| match encoding {
            Encoding::Gsm7 => single_gsm_char(g).unwrap_or(7),
            Encoding::Ucs2 => 16 * g.encode_utf16().count() as u32,
        })
        .collect();
    let total: u32 = sizes.iter().sum();
    let units = match encoding {
        Encoding::Gsm7 => total / 7,
        Encoding::Ucs2 => total / 16,
    };
    let segments = if total <= SINGLE_BITS {
        1
    } else {
        let capacity = SINGLE_BITS - HEADER_BITS;
        let (mut segments, mut used) = (1, 0);
        for s in sizes {
            if used + s > capacity {
                segments += 1;
                used = 0;
            }
            used += s;
        }
        segments
    };
    Sms {
        encoding,
        segments,
        units,
        non_gsm,
    }
}

/// Replaces characters outside GSM-7 by their closest GSM-7 spelling where a reader
/// would not mind — diacritics of Latin scripts, typographic quotes and dashes — so a
/// Polish or Romanian reminder stays one 160-character segment instead of three 67s.
/// Scripts without a Latin spelling (Japanese, Chinese) are left as they are.
pub fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if gsm_bits(c).is_some() {
            out.push(c);
            continue;
        }
        let r = match c {
            'ą' | 'ā' | 'ă' | 'â' | 'á' | 'ã' => "a",
            'Ą' | 'Ā' | 'Ă' | 'Â' | 'Á' | 'Ã' | 'À' => "A",
            'ć' | 'č' | 'ç' => "c",
            'Ć' | 'Č' => "C",
            'ę' | 'ē' | 'ė' | 'ê' | 'ë' => "e",
            'Ę' | 'Ē' | 'Ė' | 'È' | 'Ê' | 'Ë' => "E",
            'ģ' => "g",
            'Ģ' => "G",
            'ī' | 'î' | 'í' | 'ï' => "i",
            'Ī' | 'Î' | 'Í' | 'Ì' | 'Ï' => "I",
            'ķ' => "k",
            'Ķ' => "K",
            'ł' | 'ļ' => "l",
            'Ł' | 'Ļ' => "L",
            'ń' | 'ņ' => "n",
            'Ń' | 'Ņ' => "N",
            'ó' | 'ô' | 'õ' | 'ō' => "o",
            'Ó' | 'Ô' | 'Õ' | 'Ò' | 'Ō' => "O",
            'ś' | 'š' | 'ș' | 'ş' => "s",
            'Ś' | 'Š' | 'Ș' | 'Ş' => "S",
            'ț' | 'ţ' => "t",
            'Ț' | 'Ţ' => "T",
            'ū' | 'ú' | 'û' => "u",
            'Ū' | 'Ú' | 'Û' | 'Ù' => "U",
            'ź' | 'ż' | 'ž' => "z",
            'Ź' | 'Ż' | 'Ž' => "Z",
            '‘' | '’' | '‚' | '′' => "'",
            '“' | '”' | '„' | '«' | '»' | '″' => "\"",
            '–' | '—' | '‑' | '−' => "-",
            '…' => "...",
            '\u{00A0}' | '\u{202F}' | '\u{2009}' => " ",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(analyse(&"a".repeat(160)).segments, 1);
        assert_eq!(analyse(&"a".repeat(161)).segments, 2);
        assert_eq!(analyse(&"a".repeat(306)).segments, 2);
        assert_eq!(analyse(&"a".repeat(307)).segments, 3);
        assert_eq!(analyse(&"ą".repeat(70)).segments, 1);
        assert_eq!(analyse(&"ą".repeat(71)).segments, 2);
        assert_eq!(analyse("").segments, 1);
    }

    #[test]
    fn escaped_characters_count_double_and_are_not_split() {
        let s = analyse("€");
        assert_eq!((s.encoding, s.units), (Encoding::Gsm7, 2));
        // 152 septets then '€' (2): the euro moves to the next segment whole.
        let s = analyse(&format!("{}€{}", "a".repeat(152), "a".repeat(10)));
        assert_eq!((s.units, s.segments), (164, 2));
    }

    #[test]
    fn what_forces_ucs2_is_named() {
        let s = analyse("Zapłać teraz 😀");
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(s.non_gsm, ["ł", "ć", "😀"]);
        assert_eq!(s.units, 15, "the emoji is two UTF-16 units");
    }

    #[test]
    fn transliteration_keeps_latin_messages_in_gsm7() {
        let pl = transliterate("Prosimy o zapłatę 123,45 zł — dziękujemy!");
        assert_eq!(pl, "Prosimy o zaplate 123,45 zl - dziekujemy!");
        assert_eq!(analyse(&pl).encoding, Encoding::Gsm7);
        assert_eq!(
            transliterate("Vă rugăm să plătiți până la 30.11"),
            "Va rugam sa platiti pana la 30.11"
        );
        assert_eq!(
            transliterate("Lūdzam samaksāt līdz 30.11."),
            "Ludzam samaksat lidz 30.11."
        );
        assert_eq!(
            transliterate("お支払いをお願いします"),
            "お支払いをお願いします"
        );
    }
}
