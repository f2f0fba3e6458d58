//! NDJSON exports: one customer object per line, its invoices, payments and events
//! nested in it. Values are read as written (numbers keep their digits), then decoded
//! by the same decoders as CSV rows.

use super::decode::*;
use super::document::DocumentRoot;
use super::{CustomerIndex, Links, Source, display};
use crate::dataset::*;
use crate::diag::{Defect, Error, Result, Severity};
use crate::values::quote;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// A JSON object as written: its keys in file order (a key twice is seen, not
/// overwritten), each value's JSON text unparsed until a column asks for it.
///
/// Unparsed, because serde_json reads a number beyond 64 bits as a float: the customer
/// id `12345678901234567890123` became `1.2345678901234568e22`, and an amount `120.50`
/// became `120.5` (issue 12, item 14). A number is kept as the digits written.
#[derive(Debug)]
struct JsonObject(Vec<(String, Box<serde_json::value::RawValue>)>);

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = JsonObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<JsonObject, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(256));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(JsonObject(entries))
            }
        }
        d.deserialize_map(Entries)
    }
}

impl JsonObject {
    /// The value of `key` (any case); a key twice is an error — which one holds the
    /// amount is not for dunwell to guess.
    fn get(&self, key: &str) -> std::result::Result<Option<&serde_json::value::RawValue>, Bad> {
        let mut found = self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key));
        let first = found.next().map(|(_, v)| &**v);
        if found.next().is_some() {
            return Err(Bad::Json(format!(
                "`{key}` appears twice in this object (expected each key once)"
            )));
        }
        Ok(first)
    }
}

/// The text of a JSON value for a column: a string trimmed (`None` when empty), `null`
/// as `None`, a number as written, `true`/`false`, an object or array as its JSON text.
/// An id is a string or a whole number, never a fraction or exponent (`12.0`, `1.2e22`:
/// which id was meant is lost), `true` or an object. `lossy`: the line was not UTF-8 and was read with U+FFFD in
/// place of the bad bytes; a value holding one is reported as not UTF-8.
fn json_text(
    raw: &serde_json::value::RawValue,
    id: bool,
    lossy: bool,
) -> std::result::Result<Option<Cow<'_, str>>, Bad> {
    let s = raw.get().trim();
    let text: Option<Cow<'_, str>> = match s.as_bytes().first() {
        Some(b'"') if !s.contains('\\') => Some(Cow::Borrowed(s[1..s.len() - 1].trim())),
        Some(b'"') => {
            let owned: String = serde_json::from_str(s)
                .map_err(|e| Bad::Json(format!("cannot read this string: {e}")))?;
            Some(Cow::Owned(owned.trim().to_string()))
        }
        Some(b'n') => None,
        Some(b'-' | b'0'..=b'9') if id && s.contains(['.', 'e', 'E']) => {
            return Err(Bad::Json(format!(
                "`{s}` is a number with a fraction or an exponent (expected an id as a JSON string, or a whole number)"
            )));
        }
        Some(b'-' | b'0'..=b'9') => Some(Cow::Borrowed(s)),
        _ if id => {
            return Err(Bad::Json(format!(
                "{} is not a string or a number (expected an id as a JSON string, or a whole number)",
                quote(s)
            )));
        }
        _ => Some(Cow::Borrowed(s)),
    };
    match text {
        Some(t) if t.is_empty() => Ok(None),
        Some(t) if lossy && t.contains('\u{FFFD}') => Err(Bad::Utf8),
        t => Ok(t),
    }
}

struct JsonRow<'a> {
    obj: &'a JsonObject,
    /// The customer's id, for nested records that leave it out.
    parent_id: Option<&'a str>,
    keep_extra: bool,
    known: &'static [&'static str],
    lossy: bool,
}

impl Row for JsonRow<'_> {
    fn raw(&self, col: usize) -> Cell<'_> {
        let name = self.known[col];
        let found = self.obj.get(name)?;
        let value = match found {
            Some(v) => json_text(v, name.ends_with("_id"), self.lossy)?,
            None => None,
        };
        // A nested record without its own customer_id (absent or null) is its parent's.
        if name == "customer_id" && found.is_none_or(|v| v.get().trim() == "null") {
            return Ok(self.parent_id.map(Cow::Borrowed));
        }
        Ok(value)
    }

    fn name(&self, col: usize) -> &'static str {
        self.known[col]
    }

    fn extras(&self) -> Vec<Extra<'_>> {
        if !self.keep_extra {
            return Vec::new();
        }
        let mut v: Vec<Extra<'_>> = Vec::new();
        for (k, raw) in &self.obj.0 {
            let key = k.to_ascii_lowercase();
            if self.known.contains(&key.as_str())
                || matches!(key.as_str(), "invoices" | "payments" | "events")
            {
                continue;
            }
            let value = if key.is_empty() || key.len() > MAX_EXTRA_NAME {
                Err(Bad::Json(format!(
                    "a key of {} bytes (expected a name of 1 to {MAX_EXTRA_NAME} bytes)",
                    key.len()
                )))
            } else if self.lossy && key.contains('\u{FFFD}') {
                Err(Bad::Utf8)
            } else {
                match json_text(raw, false, self.lossy) {
                    Ok(None) => continue,
                    Ok(Some(t)) => Ok(t),
                    Err(bad) => Err(bad),
                }
            };
            let key = if key.len() > MAX_EXTRA_NAME {
                let cut = key.char_indices().nth(32).map_or(key.len(), |(i, _)| i);
                format!("{}…", &key[..cut])
            } else {
                key
            };
            v.push((Cow::Owned(key), value));
        }
        // By name, and a name twice keeps its first value (stable sort: file order).
        v.sort_by(|a, b| a.0.cmp(&b.0));
        for i in 1..v.len() {
            if v[i].0 == v[i - 1].0 && v[i].1.is_ok() {
                v[i].1 = Err(Bad::Json(format!(
                    "`{}` appears twice in this object (expected each key once)",
                    v[i].0
                )));
            }
        }
        v
    }
}

/// An NDJSON export, parsed: one customer object per line. NDJSON exports are API
/// dumps, small enough to decode on one thread.
pub(super) struct NdjsonSource {
    file: Arc<str>,
    /// (line, object, read lossily) of every line that is a JSON object.
    objects: Vec<(u64, JsonObject, bool)>,
    /// Lines that are not: an error each, and a customer nobody can name.
    unreadable: Vec<(u64, String)>,
    /// The file's folder: invoices' `document` paths are relative to it.
    documents: DocumentRoot,
}

impl NdjsonSource {
    pub(super) fn open(path: &Path) -> Result<Self> {
        let file = display(path);
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::Data(vec![Defect {
                file,
                line: 1,
                column: None,
                customer_id: None,
                message: "the file is empty (expected one JSON customer object per line)".into(),
                severity: Severity::Error,
            }]));
        }
        let (mut objects, mut unreadable) = (Vec::new(), Vec::new());
        for (n, raw) in body.split(|&b| b == b'\n').enumerate() {
            let line = n as u64 + 1;
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // A line that is not UTF-8 is read with U+FFFD for the bad bytes, so that
            // only the values holding them are wrong, as in a CSV file — an extra
            // column in Latin-1 costs a warning, not the customer.
            let (text, lossy) = match std::str::from_utf8(raw) {
                Ok(s) => (Cow::Borrowed(s), false),
                Err(_) => (String::from_utf8_lossy(raw), true),
            };
            match serde_json::from_str::<JsonObject>(&text) {
                Ok(obj) => objects.push((line, obj, lossy)),
                Err(e) => unreadable.push((
                    line,
                    format!("is not a JSON object: {e} (expected one customer object per line)"),
                )),
            }
        }
        Ok(NdjsonSource {
            file,
            objects,
            unreadable,
            documents: DocumentRoot::of(path),
        })
    }

    /// Decodes the objects under `key` of every customer, in file order.
    fn nested<T>(
        &self,
        key: &'static str,
        known: &'static [&'static str],
        decode: impl Fn(&JsonRow<'_>, &mut RowDefects<'_>) -> Option<T>,
    ) -> Decoded<T> {
        let (mut records, mut scratch) = (Vec::new(), Scratch::default());
        for (line, obj, lossy) in &self.objects {
            let parent = obj
                .get("customer_id")
                .ok()
                .flatten()
                .and_then(|v| json_text(v, true, *lossy).ok().flatten());
            let parent = parent.as_deref();
            let items: Vec<Box<serde_json::value::RawValue>> = match obj.get(key) {
                Ok(None) => Vec::new(),
                Ok(Some(v)) if v.get().trim() == "null" => Vec::new(),
                Ok(Some(v)) if v.get().trim_start().starts_with('[') => {
                    serde_json::from_str(v.get()).unwrap_or_default()
                }
                found => {
                    // Records that cannot be read are their customer's problem: the
                    // customer is quarantined, not contacted about a partial total.
                    let mut rd = scratch.row(&self.file, *line, false);
                    if let Some(p) = parent {
                        rd.set_customer(p);
                    }
                    let message = match found {
                        Err(bad) => bad.message(),
                        _ => format!("`{key}` is not a list (expected [{{\"...\": ...}}, ...])"),
                    };
                    rd.push(Some(key), Severity::Error, message);
                    continue;
                }
            };
            for item in items {
                let mut rd = scratch.row(&self.file, *line, false);
                match serde_json::from_str::<JsonObject>(item.get()) {
                    Ok(o) => records.extend(decode(
                        &JsonRow {
                            obj: &o,
                            parent_id: parent,
                            keep_extra: false,
                            known,
                            lossy: *lossy,
                        },
                        &mut rd,
                    )),
                    Err(_) => {
                        if let Some(p) = parent {
                            rd.set_customer(p);
                        }
                        rd.push(
                            Some(key),
                            Severity::Error,
                            format!(
                                "an entry of `{key}` is not an object (expected {{\"...\": ...}})"
                            ),
                        )
                    }
                }
            }
        }
        (records, scratch.defects, scratch.aside)
    }
}

impl Source for NdjsonSource {
    fn sources(&self) -> Sources {
        let f = &self.file;
        Sources {
            customers: f.clone(),
            invoices: f.clone(),
            payments: Some(f.clone()),
            events: Some(f.clone()),
        }
    }

    fn customers(&self) -> Result<Decoded<Customer>> {
        let (mut records, mut scratch) = (Vec::new(), Scratch::default());
        // Objects and unreadable lines, back in line order.
        type Line<'a> = (u64, Option<(&'a JsonObject, bool)>, &'a str);
        let mut lines: Vec<Line<'_>> = self
            .objects
            .iter()
            .map(|(l, o, lossy)| (*l, Some((o, *lossy)), ""))
            .collect();
        lines.extend(
            self.unreadable
                .iter()
                .map(|(l, msg)| (*l, None, msg.as_str())),
        );
        lines.sort_by_key(|l| l.0);
        for (line, obj, msg) in lines {
            let mut rd = scratch.row(&self.file, line, false);
            match obj {
                Some((obj, lossy)) => {
                    let row = JsonRow {
                        obj,
                        parent_id: None,
                        keep_extra: true,
                        known: CUSTOMER_COLS,
                        lossy,
                    };
                    records.extend(decode_customer(&row, &mut rd));
                }
                None => {
                    rd.push(None, Severity::Error, format!("line {msg}"));
                    rd.aside.push(Aside::Unidentified(line));
                }
            }
        }
        Ok((records, scratch.defects, scratch.aside))
    }

    fn invoices(&self, customers: &CustomerIndex) -> Result<Decoded<Invoice>> {
        Ok(self.nested("invoices", INVOICE_COLS, |row, rd| {
            decode_invoice(row, rd, customers, &self.documents)
        }))
    }

    fn payments(&self, links: &Links) -> Result<Option<Decoded<Payment>>> {
        Ok(Some(self.nested("payments", PAYMENT_COLS, |row, rd| {
            decode_payment(row, rd, links)
        })))
    }

    fn events(&self, customers: &CustomerIndex) -> Result<Option<Decoded<Event>>> {
        Ok(Some(self.nested("events", EVENT_COLS, |row, rd| {
            decode_event(row, rd, customers)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::testing::*;

    /// All the nested records of an NDJSON customer are on its line: attributing a
    /// record's defects to the customer looked at every earlier defect of that line,
    /// quadratic in a customer with tens of thousands of broken invoices. The bound is
    /// loose; quadratic behaviour misses it by an order of magnitude.
    #[test]
    fn many_broken_records_of_one_customer_cost_linear_time() {
        let invoice = r#"{"invoice_id": "I", "issue_date": "2026-13-01", "due_date": "2026-02-01", "amount": "1", "currency": "EUR"}"#;
        // The fastest of three runs, and a ratio rather than seconds: the machine may be
        // busy with other builds; ten times the records must not cost a hundred times.
        let best = |n: usize| {
            let line = format!(
                r#"{{"customer_id": "C1", "name": "Anna", "invoices": [{}]}}"#,
                vec![invoice; n].join(",")
            );
            (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    let v = load_ndjson(line.clone() + "\n");
                    let took = t.elapsed();
                    assert_eq!(v.rejected.len(), n, "a bad date each");
                    assert!(
                        v.rejected
                            .iter()
                            .all(|d| d.customer_id.as_deref() == Some("C1"))
                    );
                    took
                })
                .min()
                .unwrap()
        };
        let small = best(4_000);
        let large = best(40_000);
        assert!(
            large.as_secs_f64() < 30.0 * small.as_secs_f64().max(0.001),
            "4,000 records: {small:?}; 40,000: {large:?}"
        );
    }

    /// Issue 12, item 14: serde_json reads 12345678901234567890123 as a float; the digits
    /// are kept. A float where an id belongs is refused: which id was meant is lost.
    #[test]
    fn ndjson_numbers_keep_their_digits() {
        let v = load_ndjson(concat!(
            r#"{"customer_id": 12345678901234567890123, "name": "Big", "credit_limit": 5e5, "invoices": [{"invoice_id": 98765432109876543210, "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount": 1234567890.12, "currency": "EUR"}], "payments": [{"payment_id": 18446744073709551617, "date": "2026-01-15", "amount": 0.10}]}"#,
            "\n",
            r#"{"customer_id": 12.0, "name": "Float"}"#,
            "\n",
            r#"{"customer_id": 1.2345678901234568e22, "name": "Exponent"}"#,
            "\n",
            r#"{"customer_id": 42, "name": "Small", "invoices": [{"invoice_id": 7.5, "issue_date": "2026-01-01", "due_date": "2026-02-01", "amount": 1, "currency": "EUR"}]}"#,
            "\n",
            r#"{"customer_id": {"id": 1}, "name": "Object"}"#,
            "\n",
        ));
        assert_eq!(ids(&v), ["12345678901234567890123"]);
        let d = &v.dataset;
        assert_eq!(&*d.invoices[0].id, "98765432109876543210");
        assert_eq!(d.invoices[0].amount.to_string(), "1234567890.12");
        assert_eq!(&*d.payments[0].id, "18446744073709551617");
        assert_eq!(d.payments[0].amount.to_string(), "0.1");
        assert_eq!(d.customers[0].credit_limit, Some(Decimal::from(500_000)));
        let e = defects(&v, Severity::Error);
        assert_eq!(e[0], (2, "customer_id".into(), "`12.0` is a number with a fraction or an exponent (expected an id as a JSON string, or a whole number)".into()));
        assert_eq!(e[1].0, 3);
        assert!(
            e[1].2
                .starts_with("`1.2345678901234568e22` is a number with a fraction")
        );
        assert_eq!((e[2].0, e[2].1.as_str()), (4, "invoice_id"));
        assert_eq!(e[3], (5, "customer_id".into(), "`{\"id\": 1}` is not a string or a number (expected an id as a JSON string, or a whole number)".into()));
        assert_eq!(v.rejected_customers.len(), 4, "{:?}", v.rejected_customers);
        assert!(v.rejected_customers.contains(&Box::from("42")));
    }

    /// An NDJSON line with bytes that are not UTF-8 loses only the values that hold
    /// them; keys twice and nested lists that are not lists are errors of the customer.
    #[test]
    fn ndjson_defects_are_per_value() {
        let mut text = Vec::new();
        text.extend_from_slice(b"{\"customer_id\": \"N1\", \"name\": \"Anna\", \"account_manager\": \"Jos\xe9\", \"tier\": \"gold\"}\n");
        text.extend_from_slice(b"{\"customer_id\": \"N2\", \"name\": \"Ren\xe9\"}\n");
        text.extend_from_slice(b"{\"customer_id\": \"N3\", \"name\": \"A\", \"NAME\": \"B\"}\n");
        text.extend_from_slice(
            b"{\"customer_id\": \"N4\", \"name\": \"D\", \"tier\": \"a\", \"Tier\": \"b\"}\n",
        );
        text.extend_from_slice(
            b"{\"customer_id\": \"N5\", \"name\": \"E\", \"invoices\": {\"invoice_id\": \"X\"}}\n",
        );
        text.extend_from_slice(b"{\"customer_id\": \"N6\", \"name\": \"F\", \"invoices\": [17]}\n");
        let v = load_ndjson(text);
        assert_eq!(ids(&v), ["N1", "N4"]);
        assert_eq!(
            v.dataset.customers[0].extras().collect::<Vec<_>>(),
            [("tier", "gold")]
        );
        assert_eq!(
            v.dataset.customers[1].extras().collect::<Vec<_>>(),
            [("tier", "a")]
        );
        let w = defects(&v, Severity::Warning);
        assert!(w.contains(&(1, "account_manager".into(), "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8); the value is ignored".into())), "{w:?}");
        assert!(w.contains(&(4, "tier".into(), "`tier` appears twice in this object (expected each key once); the value is ignored".into())), "{w:?}");
        let e = defects(&v, Severity::Error);
        assert_eq!(
            e[0],
            (
                2,
                "name".into(),
                "is not valid UTF-8 (expected UTF-8 text; re-export the file as UTF-8)".into()
            )
        );
        assert_eq!(
            e[1],
            (
                3,
                "name".into(),
                "`name` appears twice in this object (expected each key once)".into()
            )
        );
        assert_eq!(
            e[2],
            (
                5,
                "invoices".into(),
                "`invoices` is not a list (expected [{\"...\": ...}, ...])".into()
            )
        );
        assert_eq!(
            e[3],
            (
                6,
                "invoices".into(),
                "an entry of `invoices` is not an object (expected {\"...\": ...})".into()
            )
        );
        assert_eq!(
            v.rejected_customers,
            [Box::from("N2"), "N3".into(), "N5".into(), "N6".into()]
        );
    }
}
