//! Numbers and money as each locale writes them.
//!
//! Digits, grouping and the decimal separator come from CLDR through ICU4X
//! (`icu_decimal`): `1.234,56` in Italian, `1 234,56` in Polish, `12,345` in Japanese.
//! Amounts of money are always grouped: CLDR leaves four-digit numbers ungrouped in
//! Italian and Polish prose (`1234,56`), and ICU4X's `GroupingStrategy::Always` does not
//! yet differ from `Auto`, but invoices and dunning letters in those countries group
//! them, and a debtor compares our figure with their invoice. Where the currency
//! symbol goes and which symbol a locale uses is a small table here — ICU4X's currency
//! formatting is still experimental. Amounts are rounded half away from zero to the
//! currency's minor units first (`money::round`): never banker's rounding.
//!
//! Dates (`icu_datetime`, Gregorian, CLDR's long/medium/short patterns) and plural
//! categories (`icu_plurals`: Polish has `few` and `many`, Latvian `zero`) come from the
//! same locale data, so a template never hard-codes `%d.%m.%Y` or an English `s`.

use crate::money::{Currency, round};
use chrono::Datelike;
use icu_calendar::{Date, Gregorian};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::YMD;
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal as IcuDecimal;
use icu_decimal::options::GroupingStrategy;
use icu_locale_core::Locale;
use icu_plurals::{PluralCategory, PluralRules};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// Between an amount and a symbol written after it: a no-break space keeps `zł` on the
/// line of its number.
const NBSP: char = '\u{00A0}';

/// Per language, the countries whose CLDR formats differ from the language's own: a
/// customer there gets dates and numbers as written there (`4 December 2026` in the UK,
/// `4 décembre 2026` but `1 234,56` vs `1’234.56` in Switzerland).
const REGIONS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "GB", "IE", "AU", "NZ", "CA", "ZA", "IN", "SG", "MT", "HK", "PH", "NG", "KE",
        ],
    ),
    ("fr", &["BE", "CH", "CA", "LU"]),
    ("de", &["AT", "CH", "LI", "LU"]),
    ("it", &["CH"]),
    ("es", &["MX", "AR", "CO", "CL", "PE", "US"]),
    ("pt", &["BR", "PT"]),
    ("nl", &["BE"]),
    ("zh", &["TW", "HK", "SG", "MO"]),
];

/// A locale's formatters and its grouping separator.
struct Numbers {
    formatter: DecimalFormatter,
    /// What the locale puts between thousands (`.`, `,`, a no-break space).
    group: Option<char>,
    /// Long, medium and short dates.
    dates: [FixedCalendarDateTimeFormatter<Gregorian, YMD>; 3],
    plurals: PluralRules,
    and: icu_list::ListFormatter,
}

/// How much of a date to spell out: `4 grudnia 2026` / `4 gru 2026` / `04.12.2026`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateLength {
    Long,
    Medium,
    Short,
}

impl DateLength {
    pub fn parse(s: &str) -> Option<DateLength> {
        match s {
            "long" => Some(DateLength::Long),
            "medium" => Some(DateLength::Medium),
            "short" => Some(DateLength::Short),
            _ => None,
        }
    }
}

/// Formatters for a set of languages, built once and shared by every render thread.
pub struct Formats {
    by_language: BTreeMap<String, Numbers>,
    fallback: Numbers,
}

impl std::fmt::Debug for Formats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Formats")
            .field("languages", &self.by_language.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn formatter(tag: &str) -> Option<Numbers> {
    let locale = Locale::from_str(tag).ok()?;
    let formatter =
        DecimalFormatter::try_new((&locale).into(), GroupingStrategy::Always.into()).ok()?;
    let million =
        writeable::Writeable::write_to_string(&formatter.format(&IcuDecimal::from(1_000_000)))
            .into_owned();
    let group = million.chars().find(|c| !c.is_numeric());
    let date = |len| FixedCalendarDateTimeFormatter::try_new((&locale).into(), len).ok();
    let dates = [
        date(YMD::long())?,
        date(YMD::medium())?,
        date(YMD::short())?,
    ];
    let plurals = PluralRules::try_new_cardinal((&locale).into()).ok()?;
    let and = icu_list::ListFormatter::try_new_and(
        (&locale).into(),
        icu_list::options::ListFormatterOptions::default()
            .with_length(icu_list::options::ListLength::Wide),
    )
    .ok()?;
    Some(Numbers {
        formatter,
        group,
        dates,
        plurals,
        and,
    })
}

impl Formats {
    /// Formatters for these BCP 47 tags (and English as the last resort).
    pub fn new<'a>(tags: impl IntoIterator<Item = &'a str>) -> Formats {
        let mut by_language = BTreeMap::new();
        for tag in tags {
            if let Some(f) = formatter(tag) {
                by_language.insert(tag.to_ascii_lowercase(), f);
            }
            // The regions whose dates and numbers differ from the language's default
            // (`en` is American): a customer's locale is their language and country
            // (`Locales::pick_for`), keyed here as it is written, so that the lookup a
            // dozen times per message finds it without lower-casing.
            let lang = tag.split(['-', '_']).next().unwrap_or(tag);
            for (l, regions) in REGIONS {
                if lang.eq_ignore_ascii_case(l) {
                    for r in *regions {
                        let regional = format!("{l}-{r}");
                        if let Some(f) = formatter(&regional) {
                            by_language.insert(regional, f);
                        }
                    }
                }
            }
        }
        Formats {
            by_language,
            fallback: formatter("en").expect("English data is compiled in"),
        }
    }

    /// The language and formatter for `tag`: its own, else its language's (`pt-BR` →
    /// `pt`), else English. No allocation for a tag as the campaign lists it — this
    /// runs a dozen times per message.
    fn pick(&self, tag: &str) -> (&str, &Numbers) {
        if let Some((key, f)) = self.by_language.get_key_value(tag) {
            return (key.split('-').next().unwrap_or(key), f);
        }
        let tag = tag.to_ascii_lowercase().replace('_', "-");
        let lang = tag.split('-').next().unwrap_or("");
        match self
            .by_language
            .get_key_value(tag.as_str())
            .or_else(|| self.by_language.get_key_value(lang))
        {
            Some((key, f)) => (key.split('-').next().unwrap_or(key), f),
            None => ("en", &self.fallback),
        }
    }

    /// A number with exactly `decimals` digits after the separator, as `tag` writes it.
    pub fn number(&self, value: Decimal, decimals: u32, tag: &str) -> String {
        let mut v = value.round_dp_with_strategy(
            decimals,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        );
        v.rescale(decimals);
        let d = IcuDecimal::from_str(&v.to_string()).unwrap_or_else(|_| IcuDecimal::from(0));
        writeable::Writeable::write_to_string(&self.pick(tag).1.formatter.format(&d)).into_owned()
    }

    /// As [`number`](Self::number), but four-digit amounts are grouped too (`1.234,56`),
    /// as invoices write them even where CLDR's prose rule does not.
    fn amount(&self, value: Decimal, decimals: u32, tag: &str) -> String {
        let text = self.number(value, decimals, tag);
        let Some(group) = self.pick(tag).1.group else {
            return text;
        };
        let int_len = text.chars().take_while(|c| c.is_numeric()).count();
        let first = text.chars().next().map(char::len_utf8).unwrap_or(0);
        if int_len == 4 && !text.contains(group) {
            format!("{}{group}{}", &text[..first], &text[first..])
        } else {
            text
        }
    }

    /// `€1,234.56` (en), `1.234,56 €` (it), `12 345,60 zł` (pl), `¥12,345` (ja).
    pub fn money(&self, amount: Decimal, currency: Currency, tag: &str) -> String {
        let (lang, _) = self.pick(tag);
        let digits = self.amount(round(amount, currency), currency.minor_units(), tag);
        let symbol = symbol(currency, lang);
        let symbol_first = matches!(lang, "en" | "ja" | "zh" | "ko" | "he");
        match (symbol_first, symbol.chars().all(|c| c.is_ascii_uppercase())) {
            (true, false) => format!("{symbol}{digits}"),
            (true, true) => format!("{symbol}{NBSP}{digits}"),
            (false, _) => format!("{digits}{NBSP}{symbol}"),
        }
    }
}

impl Formats {
    /// A date as `tag` writes it: `December 4, 2026`, `4 dicembre 2026`,
    /// `2026. gada 4. decembris`, `2026年12月4日`.
    pub fn date(&self, d: chrono::NaiveDate, length: DateLength, tag: &str) -> String {
        let numbers = self.pick(tag).1;
        let Ok(date) = Date::try_new_gregorian(d.year(), d.month() as u8, d.day() as u8) else {
            return d.to_string();
        };
        let f = &numbers.dates[length as usize];
        writeable::Writeable::write_to_string(&f.format(&date)).into_owned()
    }

    /// `a, b and c` as `tag` writes a list (CLDR's `and` pattern); one item is itself.
    pub fn and_list<'s>(&self, items: impl Iterator<Item = &'s str> + Clone, tag: &str) -> String {
        let mut it = items.clone();
        match (it.next(), it.next()) {
            (Some(one), None) => one.to_string(),
            _ => writeable::Writeable::write_to_string(&self.pick(tag).1.and.format(items))
                .into_owned(),
        }
    }

    /// The CLDR plural category of `n` in `tag`: `one`, `few`, `many`, `other`, …
    pub fn plural(&self, n: Decimal, tag: &str) -> &'static str {
        let rules = &self.pick(tag).1.plurals;
        let operands = IcuDecimal::from_str(&n.normalize().to_string())
            .map(|d| rules.category_for(&d))
            .unwrap_or(PluralCategory::Other);
        match operands {
            PluralCategory::Zero => "zero",
            PluralCategory::One => "one",
            PluralCategory::Two => "two",
            PluralCategory::Few => "few",
            PluralCategory::Many => "many",
            PluralCategory::Other => "other",
        }
    }
}

/// The symbol a reader of `lang` expects; the ISO code where a symbol would be ambiguous.
pub fn symbol(currency: Currency, lang: &str) -> &'static str {
    match (currency.code(), lang) {
        ("EUR", _) => "€",
        ("GBP", _) => "£",
        ("USD", "en") => "$",
        ("JPY", "ja") | ("JPY", "en") => "¥",
        ("CNY", "zh") => "¥",
        ("CNY", "en") | ("CNY", "ja") => "CN¥",
        ("PLN", "pl") => "zł",
        ("RON", "ro") => "lei",
        ("CHF", _) => "CHF",
        (code, _) => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt() -> Formats {
        Formats::new(["en", "it", "pl", "ro", "lv", "ja", "zh"])
    }

    fn money(amount: &str, cur: &str, tag: &str) -> String {
        fmt()
            .money(
                Decimal::from_str(amount).unwrap(),
                Currency::parse(cur).unwrap(),
                tag,
            )
            .replace(NBSP, " ")
    }

    #[test]
    fn money_per_sample_locale() {
        assert_eq!(money("1234.56", "EUR", "en"), "€1,234.56");
        assert_eq!(money("1234.56", "GBP", "en-GB"), "£1,234.56");
        assert_eq!(money("1234.56", "EUR", "it"), "1.234,56 €");
        assert_eq!(money("12345.6", "PLN", "pl"), "12 345,60 zł");
        assert_eq!(
            money("1234.56", "PLN", "pl"),
            "1 234,56 zł",
            "amounts are always grouped"
        );
        assert_eq!(money("3100", "RON", "ro"), "3.100,00 lei");
        assert_eq!(money("12345", "EUR", "lv"), "12 345,00 €");
        assert_eq!(money("12345", "JPY", "ja"), "¥12,345");
        assert_eq!(money("880", "CNY", "zh"), "¥880.00");
        assert_eq!(money("880", "CNY", "en"), "CN¥880.00");
        assert_eq!(money("1234.5", "PLN", "en"), "PLN 1,234.50");
    }

    #[test]
    fn rounding_is_half_away_from_zero_at_minor_units() {
        assert_eq!(money("2.345", "EUR", "en"), "€2.35");
        assert_eq!(money("2.5", "JPY", "ja"), "¥3");
        assert_eq!(money("0.125", "EUR", "it"), "0,13 €");
    }

    #[test]
    fn dates_per_sample_locale() {
        let f = fmt();
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let long = |tag| f.date(d, DateLength::Long, tag);
        assert_eq!(long("en"), "December 4, 2026");
        assert_eq!(long("it"), "4 dicembre 2026");
        assert_eq!(long("pl"), "4 grudnia 2026");
        assert_eq!(long("ro"), "4 decembrie 2026");
        assert_eq!(long("lv"), "2026. gada 4. decembris");
        assert_eq!(long("ja"), "2026年12月4日");
        assert_eq!(long("zh"), "2026年12月4日");
        assert_eq!(f.date(d, DateLength::Short, "pl"), "04.12.2026");
        // English by country: British and Irish day-month, American month-day.
        assert_eq!(long("en-GB"), "4 December 2026");
        assert_eq!(f.date(d, DateLength::Short, "en-GB"), "04/12/2026");
        assert_eq!(long("en-IE"), "4 December 2026");
        assert_eq!(long("en-US"), "December 4, 2026");
        // A region without data of its own reads as its language.
        assert_eq!(long("pl-PL"), "4 grudnia 2026");
    }

    #[test]
    fn plural_categories() {
        let f = fmt();
        let cat = |n: i64, tag| f.plural(Decimal::from(n), tag);
        assert_eq!(
            [1, 2, 5, 22, 25].map(|n| cat(n, "pl")),
            ["one", "few", "many", "few", "many"]
        );
        assert_eq!([1, 2].map(|n| cat(n, "en")), ["one", "other"]);
        assert_eq!(
            [0, 1, 11, 21].map(|n| cat(n, "lv")),
            ["zero", "one", "zero", "one"]
        );
        assert_eq!([1, 2, 20].map(|n| cat(n, "ro")), ["one", "few", "other"]);
        assert_eq!(cat(1, "ja"), "other");
    }

    #[test]
    fn unknown_locales_fall_back() {
        // A region without formats of its own reads as its language; Switzerland has
        // its own (1’234.50).
        assert_eq!(
            money("1234.5", "EUR", "it-VA"),
            money("1234.5", "EUR", "it")
        );
        assert_ne!(
            money("1234.5", "EUR", "it-CH"),
            money("1234.5", "EUR", "it")
        );
        assert_eq!(money("1234.5", "EUR", "xx"), "€1,234.50");
    }
}
