//! The creditor's bank accounts, one per currency, each written the way the people who
//! pay into it write it: an IBAN in groups of four, a UK sort code and account number, a
//! Japanese zengin account (bank, branch, 普通/当座, number, holder in katakana), a
//! Chinese account with its bank and holder.
//!
//! Which account a debt is paid into is never guessed: a currency the campaign has no
//! account for is an error (`check` and `run`), not a transfer to the euro account.

use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// One account as written in `creditor.accounts:`. Which fields are set says which form
/// it is (see [`Account::form`]); `check` refuses a mixture it cannot print.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// UK: six digits, printed `20-00-00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_code: Option<String>,
    /// The domestic account number (UK: 8 digits; Japan: 7; China: the bank's number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    /// The bank's name as payers know it (Japan, China).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// Japan: the 4-digit zengin bank code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    /// Japan: the branch name and its 3-digit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_code: Option<String>,
    /// Japan: 普通 (ordinary) or 当座 (current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// The account holder as the bank has it: Japan in katakana (what a zengin transfer
    /// is matched on), China the 户名.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

/// How an account is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Iban,
    /// UK sort code and account number (an IBAN, if given, is printed as well).
    SortCode,
    Zengin,
    /// A bank, an account number and a holder (China and anywhere without IBANs).
    Domestic,
}

/// Which words label an account's lines: keys of the letter labels
/// (templates/letter/labels.yaml), so each language names them its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Iban,
    Bic,
    SortCode,
    AccountNumber,
    Bank,
    Branch,
    AccountType,
    Holder,
}

impl Label {
    pub fn key(self) -> &'static str {
        match self {
            Label::Iban => "iban",
            Label::Bic => "bic",
            Label::SortCode => "sort_code",
            Label::AccountNumber => "account_number",
            Label::Bank => "bank",
            Label::Branch => "branch",
            Label::AccountType => "account_type",
            Label::Holder => "holder",
        }
    }
}

/// Countries whose IBANs a SEPA credit transfer reaches, for the EPC QR code — the EU
/// and EEA states and the others in the SEPA schemes' geographical scope (EPC409-09,
/// "EPC List of Countries and Territories in the SEPA Schemes' Geographical Scope").
/// Crown dependencies and overseas territories use their country's IBAN prefix.
const SEPA: &[&str] = &[
    "AD", "AL", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GI",
    "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL",
    "NO", "PL", "PT", "RO", "SE", "SI", "SK", "SM", "VA",
];

impl Account {
    pub fn form(&self) -> Form {
        if self.sort_code.is_some() {
            Form::SortCode
        } else if self.branch_code.is_some() || self.account_type.is_some() {
            Form::Zengin
        } else if self.iban.is_some() {
            Form::Iban
        } else {
            Form::Domestic
        }
    }

    /// The IBAN without spaces, upper case.
    pub fn iban_compact(&self) -> Option<String> {
        self.iban.as_deref().map(compact)
    }

    /// Whether a SEPA credit transfer (and so an EPC QR code) reaches this account: a
    /// euro account with an IBAN of a SEPA country.
    pub fn sepa(&self) -> bool {
        self.currency == "EUR"
            && self
                .iban_compact()
                .is_some_and(|i| i.len() > 2 && SEPA.contains(&&i[..2]))
    }

    /// The account's lines as its payers read them, labelled.
    pub fn lines(&self) -> Vec<(Label, String)> {
        let mut out = Vec::new();
        let iban_bic = |out: &mut Vec<(Label, String)>| {
            if let Some(i) = self.iban_compact() {
                out.push((Label::Iban, fours(&i)));
            }
            if let Some(b) = &self.bic {
                out.push((Label::Bic, b.trim().to_string()));
            }
        };
        match self.form() {
            Form::Iban => iban_bic(&mut out),
            Form::SortCode => {
                let digits: String = digits(self.sort_code.as_deref().unwrap_or(""));
                let sc = digits
                    .as_bytes()
                    .chunks(2)
                    .map(|c| std::str::from_utf8(c).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("-");
                out.push((Label::SortCode, sc));
                if let Some(n) = &self.account_number {
                    out.push((Label::AccountNumber, digits_of(n)));
                }
                if let Some(b) = &self.bank {
                    out.push((Label::Bank, b.trim().to_string()));
                }
                iban_bic(&mut out);
            }
            Form::Zengin => {
                // 三菱UFJ銀行（0005） 東京営業部（001） 普通 1234567: how a Japanese
                // invoice prints the 振込先.
                let coded = |name: &Option<String>, code: &Option<String>| match (name, code) {
                    (Some(n), Some(c)) => format!("{}（{}）", n.trim(), c.trim()),
                    (Some(n), None) => n.trim().to_string(),
                    (None, Some(c)) => c.trim().to_string(),
                    (None, None) => String::new(),
                };
                out.push((Label::Bank, coded(&self.bank, &self.bank_code)));
                out.push((Label::Branch, coded(&self.branch, &self.branch_code)));
                out.push((
                    Label::AccountType,
                    self.account_type
                        .as_deref()
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                ));
                if let Some(n) = &self.account_number {
                    out.push((Label::AccountNumber, digits_of(n)));
                }
                if let Some(h) = &self.holder {
                    out.push((Label::Holder, h.trim().to_string()));
                }
                if self.bic.is_some() {
                    iban_bic(&mut out);
                }
            }
            Form::Domestic => {
                if let Some(b) = &self.bank {
                    out.push((Label::Bank, b.trim().to_string()));
                }
                if let Some(n) = &self.account_number {
                    out.push((Label::AccountNumber, fours(&compact(n))));
                }
                if let Some(h) = &self.holder {
                    out.push((Label::Holder, h.trim().to_string()));
                }
                if let Some(b) = &self.bic {
                    out.push((Label::Bic, b.trim().to_string()));
                }
            }
        }
        out
    }

    /// Every problem with the account, as `(field, message)`: the field names the key
    /// under the account for the caret.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Err(msg) = Currency::parse(&self.currency) {
            out.push(("currency", msg));
        }
        if let Some(i) = &self.iban
            && let Err(msg) = check_iban(i)
        {
            out.push(("iban", msg));
        }
        if let Some(b) = &self.bic
            && let Err(msg) = check_bic(b)
        {
            out.push(("bic", msg));
        }
        let need = |out: &mut Vec<(&'static str, String)>,
                    key: &'static str,
                    v: &Option<String>,
                    what: &str| {
            if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
                out.push((key, format!("`{key}` is missing ({what})")));
            }
        };
        let digits_n = |out: &mut Vec<(&'static str, String)>,
                        key: &'static str,
                        v: &Option<String>,
                        n: usize,
                        what: &str| {
            if let Some(s) = v {
                let d = digits(s);
                if d.len() != n
                    || s.chars()
                        .any(|c| !(c.is_ascii_digit() || c == '-' || c == ' '))
                {
                    out.push((
                        key,
                        format!(
                            "`{}` is not {what} (expected {n} digits)",
                            crate::diag::escape_control(s)
                        ),
                    ));
                }
            }
        };
        match self.form() {
            Form::Iban => {}
            Form::SortCode => {
                digits_n(&mut out, "sort_code", &self.sort_code, 6, "a UK sort code");
                need(
                    &mut out,
                    "account_number",
                    &self.account_number,
                    "a UK account has a sort code and an 8-digit account number",
                );
                digits_n(
                    &mut out,
                    "account_number",
                    &self.account_number,
                    8,
                    "a UK account number",
                );
            }
            Form::Zengin => {
                let what = "a Japanese account is written with bank, bank_code, branch, branch_code, account_type (普通 or 当座), account_number and holder (katakana)";
                for (key, v) in [
                    ("bank", &self.bank),
                    ("branch", &self.branch),
                    ("account_type", &self.account_type),
                    ("account_number", &self.account_number),
                    ("holder", &self.holder),
                ] {
                    need(&mut out, key, v, what);
                }
                digits_n(
                    &mut out,
                    "bank_code",
                    &self.bank_code,
                    4,
                    "a zengin bank code",
                );
                digits_n(
                    &mut out,
                    "branch_code",
                    &self.branch_code,
                    3,
                    "a zengin branch code",
                );
                digits_n(
                    &mut out,
                    "account_number",
                    &self.account_number,
                    7,
                    "a Japanese account number",
                );
                if let Some(t) = &self.account_type
                    && !matches!(t.trim(), "普通" | "当座")
                {
                    out.push((
                        "account_type",
                        format!(
                            "`{}` is not an account type (expected 普通 or 当座)",
                            crate::diag::escape_control(t)
                        ),
                    ));
                }
                if let Some(h) = &self.holder
                    && !h.trim().chars().all(katakana_name)
                {
                    out.push((
                        "holder",
                        format!(
                            "`{}` is not written in katakana (expected the holder's name as the bank registers it, e.g. ノルドリヒト（カ）: transfers are matched on it)",
                            crate::diag::escape_control(h)
                        ),
                    ));
                }
            }
            Form::Domestic => {
                let what =
                    "an account without an IBAN is written with bank, account_number and holder";
                need(&mut out, "bank", &self.bank, what);
                need(&mut out, "account_number", &self.account_number, what);
                if let Some(n) = &self.account_number {
                    let d = compact(n);
                    if !(8..=34).contains(&d.len()) || !d.chars().all(|c| c.is_ascii_alphanumeric())
                    {
                        out.push((
                            "account_number",
                            format!(
                                "`{}` is not an account number (expected 8 to 34 digits or letters)",
                                crate::diag::escape_control(n)
                            ),
                        ));
                    }
                }
            }
        }
        out
    }
}

/// Full- and half-width katakana, the long-vowel mark, spaces and what zengin names use
/// for company forms: ﾉﾙﾄﾞﾘﾋﾄ(ｶ), ノルドリヒト（カ）.
fn katakana_name(c: char) -> bool {
    matches!(c, '\u{30A0}'..='\u{30FF}' | '\u{FF65}'..='\u{FF9F}' | ' ' | '\u{3000}' | '(' | ')' | '（' | '）' | '.' | '-' | '／' | '/' | '0'..='9' | 'A'..='Z')
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn digits_of(s: &str) -> String {
    let d = digits(s);
    if d.is_empty() {
        s.trim().to_string()
    } else {
        d
    }
}

/// `NL91ABNA0417164300` → `NL91 ABNA 0417 1643 00`, joined by no-break spaces' ordinary
/// cousins: a reader copies it into a banking app, which takes spaces.
pub fn fours(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The accounts by currency: the campaign's `accounts:`, and its `iban:`/`bic:` as the
/// euro account when no `accounts:` entry is in euro (campaigns written before accounts
/// existed keep working — for euro debts only).
pub fn by_currency(
    accounts: &[Account],
    iban: Option<&str>,
    bic: Option<&str>,
) -> std::collections::BTreeMap<String, Account> {
    let mut out: std::collections::BTreeMap<String, Account> = accounts
        .iter()
        .map(|a| (a.currency.trim().to_string(), a.clone()))
        .collect();
    if let Some(iban) = iban
        && !out.contains_key("EUR")
    {
        out.insert(
            "EUR".into(),
            Account {
                currency: "EUR".into(),
                iban: Some(iban.to_string()),
                bic: bic.map(str::to_string),
                ..Account::default()
            },
        );
    }
    out
}
/// An IBAN (ISO 13616): the country's length and account format and the mod-97 check
/// digits — a typing error here would be in every letter's payment QR code, and every
/// transfer made from it would bounce or reach someone else.
pub fn check_iban(text: &str) -> Result<(), String> {
    use iban::{Iban, ParseBaseIbanError, ParseIbanError};
    let shown = crate::diag::escape_control(text);
    match text.trim().parse::<Iban>() {
        Ok(_) => Ok(()),
        Err(ParseIbanError::InvalidBaseIban {
            source: ParseBaseIbanError::InvalidChecksum,
        }) => Err(format!(
            "`{shown}` fails the IBAN check (ISO 13616, mod 97): a character is wrong, missing or extra (expected the account's IBAN as the bank gives it, e.g. NL91ABNA0417164300)"
        )),
        Err(ParseIbanError::InvalidBaseIban { .. }) => Err(format!(
            "`{shown}` is not an IBAN (expected a country code, two check digits and up to 30 capital letters and digits, written together or in groups of four, e.g. NL91 ABNA 0417 1643 00)"
        )),
        Err(ParseIbanError::UnknownCountry(b)) => Err(format!(
            "`{shown}`: `{}` is not a country that has IBANs (expected an IBAN country code such as NL, DE, PL)",
            &iban::IbanLike::electronic_str(&b)[..2]
        )),
        Err(ParseIbanError::InvalidBban(b)) => Err(format!(
            "`{shown}` does not have the length and format of a {} IBAN (expected the account's IBAN as the bank gives it)",
            &iban::IbanLike::electronic_str(&b)[..2]
        )),
    }
}

/// A BIC (ISO 9362): 4 letters or digits for the institution, a country code, 2 for the
/// location and, optionally, 3 for the branch — 8 or 11 capital letters and digits.
pub fn check_bic(text: &str) -> Result<(), String> {
    let b = text.trim().as_bytes();
    let alnum = |s: &[u8]| {
        s.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let ok = matches!(b.len(), 8 | 11)
        && alnum(&b[..4])
        && b[4..6].iter().all(u8::is_ascii_uppercase)
        && alnum(&b[6..])
        && std::str::from_utf8(&b[4..6])
            .ok()
            .and_then(|cc| crate::values::check_country(cc).ok())
            .is_some();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a BIC (expected ISO 9362: 8 or 11 capital letters and digits — bank, country, location, optional branch — e.g. ABNANL2A)",
            crate::diag::escape_control(text)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(yaml: &str) -> Account {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn each_form_is_written_as_its_payers_write_it() {
        let iban = account("{currency: EUR, iban: NL91ABNA0417164300, bic: ABNANL2A}");
        assert_eq!(iban.form(), Form::Iban);
        assert!(iban.sepa() && iban.problems().is_empty());
        assert_eq!(
            iban.lines()[0],
            (Label::Iban, "NL91 ABNA 0417 1643 00".into())
        );
        let uk = account(
            "{currency: GBP, sort_code: '202015', account_number: '5555 5555', iban: GB33BUKB20201555555555}",
        );
        assert_eq!(uk.form(), Form::SortCode);
        assert!(uk.problems().is_empty(), "{:?}", uk.problems());
        assert!(!uk.sepa(), "pounds are no SEPA transfer");
        assert_eq!(
            uk.lines()[..2],
            [
                (Label::SortCode, "20-20-15".into()),
                (Label::AccountNumber, "55555555".into())
            ]
        );
        let jp = account(
            "{currency: JPY, bank: 三菱UFJ銀行, bank_code: '0005', branch: 東京営業部, branch_code: '001', account_type: 普通, account_number: '1234567', holder: ﾉﾙﾄﾞﾘﾋﾄ(ｶ}",
        );
        assert_eq!(jp.form(), Form::Zengin);
        assert!(jp.problems().is_empty(), "{:?}", jp.problems());
        assert_eq!(jp.lines()[0], (Label::Bank, "三菱UFJ銀行（0005）".into()));
        // A euro account outside SEPA's scope gets no EPC code.
        let us = account("{currency: EUR, iban: MU17BOMM0101101030300200000MUR}");
        assert!(!us.sepa());
    }

    #[test]
    fn an_account_that_cannot_be_printed_right_is_refused_naming_the_field() {
        let fields = |y: &str| -> Vec<&'static str> {
            account(y).problems().into_iter().map(|(f, _)| f).collect()
        };
        assert_eq!(
            fields("{currency: GBP, sort_code: '20-20-1', account_number: '5555555'}"),
            ["sort_code", "account_number"]
        );
        assert_eq!(
            fields(
                "{currency: JPY, bank: B, bank_code: '5', branch: S, branch_code: '001', account_type: 貯蓄, account_number: '1234567', holder: Nordlicht}"
            ),
            ["bank_code", "account_type", "holder"]
        );
        assert_eq!(
            fields("{currency: CNY, account_number: '12'}"),
            ["bank", "account_number"]
        );
        assert_eq!(
            fields("{currency: EURO, iban: NL91ABNA0417164300}"),
            ["currency"]
        );
    }

    #[test]
    fn ibans_with_wrong_check_digits_or_length_are_refused() {
        assert!(check_iban("NL91ABNA0417164300").is_ok());
        assert!(check_iban("NL91 ABNA 0417 1643 00").is_ok());
        assert!(check_iban("DE89370400440532013000").is_ok());
        let e = check_iban("NL00ABNA0417164300").unwrap_err();
        assert!(
            e.contains("fails the IBAN check (ISO 13616, mod 97)"),
            "{e}"
        );
        assert!(check_iban("NL91ABNA04171643001").is_err());
        // Right check digits, wrong length for the country.
        let e = check_iban("NL58ABNA041716430").unwrap_err();
        assert!(e.contains("length and format of a NL IBAN"), "{e}");
        assert!(check_iban("XX91ABNA0417164300").is_err());
        assert!(check_iban("nl91abna0417164300").is_err());
        assert!(check_iban("").is_err());
    }

    #[test]
    fn bics_are_8_or_11_capitals_and_digits_with_a_country() {
        for ok in ["ABNANL2A", "DEUTDEFF500", "BPOTPLPW", "RZBRROBU"] {
            assert!(check_bic(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ABNANL2",
            "ABNANL2AX",
            "abnanl2a",
            "ABNAXX2A",
            "ABNA1L2A",
            "ABNANL2A 00",
            "",
        ] {
            assert!(check_bic(bad).is_err(), "{bad}");
        }
    }
}
