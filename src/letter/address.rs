//! A customer's postal address as the destination country's post office wants it: the
//! lines in that country's order, postcode and city where they belong, capitals where
//! the format asks for them, the country's name last on mail from abroad — from a table
//! of formats (`templates/letter/addresses.yaml`, Google's libaddressinput data).
//!
//! Data, not code: a post office that changes its rules, or a country a campaign needs
//! differently, is an edit of the file. What the table cannot say — that a city the
//! export has is never dropped, that a region equal to the city is not printed twice —
//! is here.

use crate::dataset::{Customer, CustomerKind, Field};
use crate::diag::{Diagnostic, Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

const SHIPPED: &str = include_str!("../../templates/letter/addresses.yaml");

/// One country's entry.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Format {
    #[serde(default)]
    name: String,
    #[serde(default)]
    fmt: Option<String>,
    #[serde(default)]
    lfmt: Option<String>,
    #[serde(default)]
    upper: String,
}

/// The table, by ISO 3166-1 alpha-2 code.
#[derive(Clone, Debug)]
pub struct Addresses {
    default: String,
    countries: BTreeMap<String, Format>,
}

/// An address set for the window: its lines, with the one that is the recipient's name
/// (printed bold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub lines: Vec<String>,
    pub name_line: usize,
}

impl Recipient {
    /// The lines without the name: `customer.address` in templates.
    pub fn address(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .enumerate()
            .filter(move |(k, _)| *k != self.name_line)
            .map(|(_, l)| l.as_str())
    }
}

impl Addresses {
    /// The shipped table.
    pub fn shipped() -> &'static Addresses {
        static SHIPPED_TABLE: std::sync::OnceLock<Addresses> = std::sync::OnceLock::new();
        SHIPPED_TABLE.get_or_init(|| Addresses::parse(SHIPPED).expect("the shipped table parses"))
    }

    /// `templates/letter/addresses.yaml` of the campaign's templates, else the shipped one.
    pub fn load(templates: &Path) -> Result<Addresses> {
        let path = templates.join("letter/addresses.yaml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text)
                .map_err(|msg| Error::Config(vec![Diagnostic::whole_file(&path, msg)])),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::shipped().clone()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn parse(text: &str) -> std::result::Result<Addresses, String> {
        #[derive(Deserialize)]
        struct Raw {
            default: Format,
            #[serde(flatten)]
            countries: BTreeMap<String, Format>,
        }
        let raw: Raw = serde_saphyr::from_str(text).map_err(|e| {
            format!("{e} (expected `default: {{fmt: …}}` and `XX: {{name: …, fmt: …, lfmt: …, upper: …}}` per country)")
        })?;
        let default = raw
            .default
            .fmt
            .ok_or("`default` has no fmt (expected e.g. \"%N%n%A%n%Z %C\")")?;
        for (code, f) in &raw.countries {
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!(
                    "`{code}` is not a country code (expected ISO 3166-1 alpha-2, upper case)"
                ));
            }
            for fmt in [&f.fmt, &f.lfmt].into_iter().flatten() {
                if let Some(bad) = unknown_field(fmt) {
                    return Err(format!(
                        "{code}: `%{bad}` is not a field (expected %N %O %A %C %S %Z, another capital letter, or %n)"
                    ));
                }
            }
        }
        Ok(Addresses {
            default,
            countries: raw.countries,
        })
    }

    /// The format a customer's address is set in: the country's, in the local script's
    /// form when the address is written in it (Japanese, Chinese), else in its Latin
    /// form; with whether it is the local one.
    fn format_of(&self, c: &Customer) -> (&str, bool) {
        let entry = c.get(Field::Country).and_then(|k| self.countries.get(k));
        let local = [c.get(Field::City), region_of(c)]
            .into_iter()
            .flatten()
            .chain(
                [Field::AddressLine1, Field::AddressLine2]
                    .iter()
                    .filter_map(|f| c.get(*f)),
            )
            .any(|t| t.chars().any(|ch| ch.is_alphabetic() && ch > '\u{24f}'));
        let fmt = match entry {
            Some(f) => match (&f.fmt, &f.lfmt) {
                (Some(_), Some(l)) if !local => l.as_str(),
                (Some(f), _) => f.as_str(),
                (None, _) => self.default.as_str(),
            },
            None => self.default.as_str(),
        };
        (fmt, local)
    }

    /// What of `c`'s name and address a letter's window must show, as the export has
    /// it: the name, the street lines, the postcode and the city always (a post office
    /// needs them, and [`Addresses::recipient`] never drops one), the region where the
    /// destination's format prints one. The country is not among them: it is printed
    /// only on mail from abroad, in the destination's word for it.
    pub fn expected<'c>(&self, c: &'c Customer) -> Vec<(Field, &'c str)> {
        let (fmt, _) = self.format_of(c);
        let mut fields = vec![
            Field::Name,
            Field::AddressLine1,
            Field::AddressLine2,
            Field::PostalCode,
            Field::City,
        ];
        if fmt.contains("%S") {
            fields.push(Field::Region);
        }
        fields
            .into_iter()
            .filter_map(|f| {
                let v = if f == Field::Region {
                    region_of(c)
                } else {
                    c.get(f)
                };
                v.map(str::trim).filter(|v| !v.is_empty()).map(|v| (f, v))
            })
            .collect()
    }

    /// The country's name for the last line of mail from abroad, in capitals; the code
    /// itself for a country the table does not name.
    pub fn country_name(&self, code: &str) -> String {
        self.countries
            .get(code)
            .map(|f| f.name.as_str())
            .filter(|n| !n.is_empty())
            .unwrap_or(code)
            .to_uppercase()
    }

    /// The country's name as a sentence writes it, for the report's charts and tables
    /// (in English, as the report is): the table's capitals in the case English uses —
    /// `POLAND` → `Poland`, `BOSNIA AND HERZEGOVINA` → `Bosnia and Herzegovina`,
    /// `VIRGIN ISLANDS (U.S.)` → `Virgin Islands (U.S.)`; the code itself for a country
    /// the table does not name.
    pub fn country_in_words(&self, code: &str) -> String {
        let Some(name) = self
            .countries
            .get(code)
            .map(|f| f.name.as_str())
            .filter(|n| !n.is_empty())
        else {
            return code.to_string();
        };
        name.split(' ')
            .enumerate()
            .map(|(k, word)| {
                let lower = word.to_lowercase();
                if k > 0 && matches!(lower.as_str(), "and" | "of" | "the" | "da") {
                    return lower;
                }
                // A capital starts each part of a word: `Guinea-Bissau`, `(Rep.)`,
                // `U.S.`, `D'Ivoire`.
                let mut out = String::with_capacity(word.len());
                let mut start = true;
                for ch in word.chars() {
                    if start && ch.is_alphabetic() {
                        out.extend(ch.to_uppercase());
                    } else {
                        out.extend(ch.to_lowercase());
                    }
                    start = !ch.is_alphabetic();
                }
                out
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `c`'s name and address as the window prints them, for a letter posted in
    /// `from` (the creditor's country): the country's name is the last line when the
    /// two differ, or when either is unknown.
    pub fn recipient(&self, c: &Customer, from: Option<&str>) -> Recipient {
        let country = c.get(Field::Country);
        let entry = country.and_then(|k| self.countries.get(k));
        let street: Vec<&str> = [Field::AddressLine1, Field::AddressLine2]
            .iter()
            .filter_map(|f| c.get(*f))
            .collect();
        let (city, region, postcode) = (c.get(Field::City), region_of(c), c.get(Field::PostalCode));
        let (fmt, local) = self.format_of(c);
        let fmt = complete(fmt, city.is_some(), postcode.is_some(), local);
        let upper = entry.map_or("", |f| f.upper.as_str());
        let caps = |field: char, text: &str| -> String {
            if upper.contains(field) {
                text.to_uppercase()
            } else {
                text.to_string()
            }
        };
        let name = honorific(c, country, local);
        let mut lines: Vec<String> = Vec::new();
        let mut name_line = None;
        for template in fmt.split("%n") {
            // A line of several fields: the fields with a value and the text between
            // them; the separators next to a field without one go with it.
            let mut out = String::new();
            let mut pending = String::new();
            let mut has_value = false;
            let mut is_name = false;
            let mut chars = template.chars().peekable();
            let mut street_here = false;
            while let Some(ch) = chars.next() {
                if ch != '%' {
                    pending.push(ch);
                    continue;
                }
                let Some(field) = chars.next() else { break };
                let value: Option<String> = match field {
                    'N' | 'O' if name_line.is_none() && !is_name => {
                        is_name = true;
                        Some(caps('N', &name))
                    }
                    'A' => {
                        street_here = true;
                        None
                    }
                    'C' => city.map(|t| caps('C', t)),
                    'S' => region.map(|t| caps('S', t)),
                    'Z' => postcode.map(|t| caps('Z', t)),
                    _ => None,
                };
                match value {
                    Some(v) => {
                        // Between values, the text between them; before the first, only
                        // a real prefix (`〒`, `CH-`), not a separator left by a field
                        // without a value (`, `).
                        let prefix = pending
                            .trim()
                            .chars()
                            .any(|ch| !matches!(ch, ',' | ';' | '-' | '–' | '·' | ' '));
                        if has_value || prefix {
                            out.push_str(&pending);
                        }
                        pending.clear();
                        out.push_str(&v);
                        has_value = true;
                    }
                    None => {
                        // Text before a field that has no value goes with it, unless it
                        // is a prefix of the line (`〒`, `CH-`) and a value follows.
                        if has_value {
                            pending.clear();
                        }
                    }
                }
            }
            if street_here {
                // `%A` is the street lines, each its own line; anything else on that
                // line (Japan's latin format: `%A, %S`) follows the last.
                let rest = out.trim_start_matches([',', ' ']).to_string();
                let mut streets: Vec<String> = street.iter().map(|s| caps('A', s)).collect();
                if !rest.is_empty() {
                    match streets.last_mut() {
                        Some(last) => {
                            last.push_str(", ");
                            last.push_str(&rest);
                        }
                        None => streets.push(rest),
                    }
                }
                lines.extend(streets);
                continue;
            }
            if !template.contains('%') && !template.trim().is_empty() {
                // A line of text alone (`GUERNSEY` above Guernsey's postcode).
                lines.push(template.trim().to_string());
                continue;
            }
            if has_value {
                let line = out.trim().trim_end_matches(',').trim().to_string();
                if is_name {
                    name_line = Some(lines.len());
                }
                lines.push(line);
            }
        }
        let name_line = name_line.unwrap_or_else(|| {
            lines.insert(0, name.clone());
            0
        });
        if let Some(code) = country {
            let abroad = from.is_none_or(|f| !f.eq_ignore_ascii_case(code));
            if abroad {
                lines.push(self.country_name(code));
            }
        }
        Recipient { lines, name_line }
    }
}

/// The region to print: none when it only repeats the city (Rīga, Rīga).
fn region_of(c: &Customer) -> Option<&str> {
    let (city, region) = (c.get(Field::City), c.get(Field::Region));
    region.filter(|r| Some(r.trim()) != city.map(str::trim))
}

/// A field's name in a sentence about a letter's address.
pub fn field_name(f: Field) -> &'static str {
    match f {
        Field::Name => "name",
        Field::AddressLine1 => "first address line",
        Field::AddressLine2 => "second address line",
        Field::PostalCode => "postcode",
        Field::City => "city",
        Field::Region => "region",
        Field::Country => "country",
        _ => "field",
    }
}

/// The fields of `expected` that `window` — the lines a letter's envelope window shows
/// ([`crate::letter::Drawing::window_lines`]) — does not show. Compared without spaces
/// and case: the format may set a field in capitals, and a long line may wrap.
pub fn missing<'c>(expected: &[(Field, &'c str)], window: &[String]) -> Vec<(Field, &'c str)> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect()
    };
    let shown = norm(&window.concat());
    expected
        .iter()
        .filter(|(_, v)| !shown.contains(&norm(v)))
        .copied()
        .collect()
}

/// The format with the city and postcode the export has, where the country's format
/// leaves them to the street lines (Japan's city is part of its address line there): a
/// value the export holds is never dropped.
fn complete(fmt: &str, city: bool, postcode: bool, local: bool) -> std::borrow::Cow<'_, str> {
    let mut f = std::borrow::Cow::Borrowed(fmt);
    if city && !fmt.contains("%C") {
        // With the region, as each script writes it: 愛知県名古屋市中区 (largest first,
        // no space), `Shinjuku-ku, Tokyo`; else on a line after the street lines.
        f = match (fmt.contains("%S"), local) {
            (true, true) => f.replacen("%S", "%S%C", 1).into(),
            (true, false) => f.replacen("%S", "%C, %S", 1).into(),
            (false, _) => f.replacen("%A", "%A%n%C", 1).into(),
        };
    }
    if postcode && !f.contains("%Z") {
        f = f.replacen("%C", "%Z %C", 1).into();
    }
    f
}

/// The name as the destination's custom addresses it: Japanese letters in Japanese
/// write 様 after a person's name and 御中 after a company's.
fn honorific(c: &Customer, country: Option<&str>, local: bool) -> String {
    let name = c.name().trim();
    if country == Some("JP") && local {
        let suffix = match c.kind {
            Some(CustomerKind::Company) => "御中",
            _ => "様",
        };
        return format!("{name} {suffix}");
    }
    name.to_string()
}

fn unknown_field(fmt: &str) -> Option<char> {
    let mut chars = fmt.chars();
    while let Some(ch) = chars.next() {
        if ch == '%' {
            match chars.next() {
                // libaddressinput's other fields (%D district, %X sorting code, %T) are
                // read and, having no column in the export, print nothing.
                Some('n' | 'A'..='Z') => {}
                Some(other) => return Some(other),
                None => return Some(' '),
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_country_in_words_is_in_the_case_a_sentence_uses() {
        let t = Addresses::shipped();
        for (code, words) in [
            ("PL", "Poland"),
            ("GB", "United Kingdom"),
            ("BA", "Bosnia and Herzegovina"),
            ("GW", "Guinea-Bissau"),
            ("VI", "Virgin Islands (U.S.)"),
            ("CI", "Cote D'Ivoire"),
            ("TA", "Tristan da Cunha"),
            ("XX", "XX"),
        ] {
            assert_eq!(t.country_in_words(code), words);
        }
    }

    use super::*;

    fn customer(kind: Option<CustomerKind>, fields: &[(Field, &str)]) -> Customer {
        let mut f = [None; 11];
        for (k, v) in fields {
            f[*k as usize] = Some(*v);
        }
        let mut c = Customer::with_text(f, []);
        c.kind = kind;
        c
    }

    fn set(c: &Customer, from: &str) -> Vec<String> {
        Addresses::shipped().recipient(c, Some(from)).lines
    }

    #[test]
    fn a_uk_address_has_its_post_town_then_the_postcode_in_capitals_and_no_region() {
        let c = customer(
            None,
            &[
                (Field::Name, "Emily Williams"),
                (Field::AddressLine1, "59 High Street"),
                (Field::AddressLine2, "Flat 2"),
                (Field::PostalCode, "eh1 1yz"),
                (Field::City, "Edinburgh"),
                (Field::Region, "Scotland"),
                (Field::Country, "GB"),
            ],
        );
        assert_eq!(
            set(&c, "NL"),
            [
                "Emily Williams",
                "59 High Street",
                "Flat 2",
                "EDINBURGH",
                "EH1 1YZ",
                "UNITED KINGDOM"
            ]
        );
        // Posted in the UK: no country line.
        assert_eq!(set(&c, "GB").last().unwrap(), "EH1 1YZ");
    }

    #[test]
    fn postcode_and_city_share_a_line_where_the_post_wants_it() {
        let c = customer(
            None,
            &[
                (Field::Name, "Zofia Kozłowska"),
                (Field::AddressLine1, "al. Jerozolimskie 62"),
                (Field::PostalCode, "00-993"),
                (Field::City, "Warszawa"),
                (Field::Region, "mazowieckie"),
                (Field::Country, "PL"),
            ],
        );
        assert_eq!(
            set(&c, "NL"),
            [
                "Zofia Kozłowska",
                "al. Jerozolimskie 62",
                "00-993 Warszawa",
                "POLAND"
            ]
        );
        let it = customer(
            None,
            &[
                (Field::Name, "Rossi S.r.l."),
                (Field::AddressLine1, "Via Garibaldi 92"),
                (Field::PostalCode, "80142"),
                (Field::City, "Napoli"),
                (Field::Region, "na"),
                (Field::Country, "IT"),
            ],
        );
        assert_eq!(set(&it, "NL")[2], "80142 NAPOLI NA");
        // Latvia: the region line only when it is not the city again.
        let lv = customer(
            None,
            &[
                (Field::Name, "Anna Ozola"),
                (Field::AddressLine1, "Krišjāņa Valdemāra iela 62-36"),
                (Field::PostalCode, "LV-1013"),
                (Field::City, "Rīga"),
                (Field::Region, "Rīga"),
                (Field::Country, "LV"),
            ],
        );
        assert_eq!(
            set(&lv, "NL"),
            [
                "Anna Ozola",
                "Krišjāņa Valdemāra iela 62-36",
                "Rīga, LV-1013",
                "LATVIA"
            ]
        );
    }

    #[test]
    fn japanese_addresses_go_from_the_postcode_to_the_name_with_its_honorific() {
        let person = customer(
            Some(CustomerKind::Person),
            &[
                (Field::Name, "山田 太郎"),
                (Field::AddressLine1, "錦3-2-11"),
                (Field::PostalCode, "460-0003"),
                (Field::City, "名古屋市中区"),
                (Field::Region, "愛知県"),
                (Field::Country, "JP"),
            ],
        );
        let r = Addresses::shipped().recipient(&person, Some("NL"));
        assert_eq!(
            r.lines,
            [
                "〒460-0003",
                "愛知県名古屋市中区",
                "錦3-2-11",
                "山田 太郎 様",
                "JAPAN"
            ]
        );
        assert_eq!(r.name_line, 3);
        assert_eq!(
            r.address().collect::<Vec<_>>(),
            ["〒460-0003", "愛知県名古屋市中区", "錦3-2-11", "JAPAN"]
        );
        let company = customer(
            Some(CustomerKind::Company),
            &[
                (Field::Name, "株式会社サクラ"),
                (Field::City, "大阪市北区"),
                (Field::Country, "JP"),
            ],
        );
        assert!(set(&company, "NL").contains(&"株式会社サクラ 御中".to_string()));
        // In Latin letters: the Latin format, no honorific.
        let latin = customer(
            Some(CustomerKind::Person),
            &[
                (Field::Name, "Taro Yamada"),
                (Field::AddressLine1, "3-2-11 Nishi-Shinjuku"),
                (Field::PostalCode, "160-0023"),
                (Field::City, "Shinjuku-ku"),
                (Field::Region, "Tokyo"),
                (Field::Country, "JP"),
            ],
        );
        assert_eq!(
            set(&latin, "NL"),
            [
                "Taro Yamada",
                "3-2-11 Nishi-Shinjuku, Shinjuku-ku, TOKYO",
                "160-0023",
                "JAPAN"
            ]
        );
    }

    #[test]
    fn chinese_addresses_are_big_endian() {
        let c = customer(
            Some(CustomerKind::Person),
            &[
                (Field::Name, "王芳"),
                (Field::AddressLine1, "解放大道688号"),
                (Field::PostalCode, "100016"),
                (Field::City, "朝阳区"),
                (Field::Region, "北京市"),
                (Field::Country, "CN"),
            ],
        );
        assert_eq!(
            set(&c, "NL"),
            ["100016", "北京市朝阳区", "解放大道688号", "王芳", "CHINA"]
        );
    }

    #[test]
    fn every_country_the_export_may_name_has_a_name_and_every_format_reads() {
        let t = Addresses::shipped();
        let mut missing = Vec::new();
        for code in isocountry::CountryCode::iter() {
            let a2 = code.alpha2();
            if !t.countries.contains_key(a2) {
                missing.push(a2);
            }
        }
        assert!(missing.is_empty(), "no entry for {missing:?}");
        assert!(Addresses::parse("default: {fmt: \"%N\"}\nXX: {fmt: \"%q\"}\n").is_err());
        assert!(Addresses::parse("default: {fmt: \"%N\"}\ngb: {fmt: \"%N\"}\n").is_err());
    }

    /// Issue 16: what the gallery checks a letter's window against. The shipped formats
    /// set every field they owe (the UK's region is not owed: Royal Mail prints none); a
    /// format that leaves the street out is caught.
    #[test]
    fn a_window_missing_a_line_of_the_address_is_caught() {
        let lv = customer(
            None,
            &[
                (Field::Name, "Anna Ozola"),
                (Field::AddressLine1, "Krišjāņa Valdemāra iela 62-36"),
                (Field::PostalCode, "LV-1013"),
                (Field::City, "Rīga"),
                (Field::Region, "Rīga"),
                (Field::Country, "LV"),
            ],
        );
        let gb = customer(
            None,
            &[
                (Field::Name, "Emily Williams"),
                (Field::AddressLine1, "Flat 2"),
                (Field::AddressLine2, "59 High Street"),
                (Field::PostalCode, "EH1 1YZ"),
                (Field::City, "Edinburgh"),
                (Field::Region, "Scotland"),
                (Field::Country, "GB"),
            ],
        );
        let jp = customer(
            Some(CustomerKind::Person),
            &[
                (Field::Name, "山田 太郎"),
                (Field::AddressLine1, "錦3-2-11"),
                (Field::PostalCode, "460-0003"),
                (Field::City, "名古屋市中区"),
                (Field::Region, "愛知県"),
                (Field::Country, "JP"),
            ],
        );
        let t = Addresses::shipped();
        for c in [&lv, &gb, &jp] {
            let lines = t.recipient(c, Some("NL")).lines;
            assert_eq!(missing(&t.expected(c), &lines), [], "{lines:?}");
        }
        // Japan's region is owed (its format has %S), the UK's is not, Rīga once.
        assert!(t.expected(&jp).contains(&(Field::Region, "愛知県")));
        assert!(!t.expected(&gb).iter().any(|(f, _)| *f == Field::Region));
        assert!(!t.expected(&lv).iter().any(|(f, _)| *f == Field::Region));
        // A line wrapped in the window still counts; a dropped one does not.
        let wrapped = [
            "Anna Ozola",
            "Krišjāņa Valdemāra",
            "iela 62-36",
            "Rīga, LV-1013",
        ]
        .map(String::from);
        assert_eq!(missing(&t.expected(&lv), &wrapped), []);
        let dropped = ["Anna Ozola", "Rīga, LV-1013"].map(String::from);
        assert_eq!(
            missing(&t.expected(&lv), &dropped),
            [(Field::AddressLine1, "Krišjāņa Valdemāra iela 62-36")]
        );
        // A campaign's table that forgets the street lines loses them from the window.
        let forgetful =
            Addresses::parse("default: {fmt: \"%N%n%A%n%Z %C\"}\nLV: {fmt: \"%N%n%C, %Z\"}\n")
                .unwrap();
        let lines = forgetful.recipient(&lv, Some("LV")).lines;
        assert_eq!(
            missing(&forgetful.expected(&lv), &lines),
            [(Field::AddressLine1, "Krišjāņa Valdemāra iela 62-36")]
        );
    }

    #[test]
    fn an_unknown_or_unlisted_country_keeps_every_field() {
        let c = customer(
            None,
            &[
                (Field::Name, "A"),
                (Field::AddressLine1, "1 Road"),
                (Field::PostalCode, "123"),
                (Field::City, "Town"),
                (Field::Region, "Shire"),
            ],
        );
        assert_eq!(set(&c, "NL"), ["A", "1 Road", "123 Town", "Shire"]);
    }
}
