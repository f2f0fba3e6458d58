//! Where each value of a YAML file is: its keys as a tree, each with the line and column
//! serde-saphyr's `Spanned` reports.
//!
//! Many checks of a campaign file can only be made after it has been read into its types
//! (an IBAN's check digits, a window that does not fit on the page, stages that overlap),
//! and a message that only names the file makes the operator hunt for the value. So the
//! file is read a second time into this tree, and a check names the value by its key path
//! (`["letters", "window", "left_mm"]`, list positions as numbers) to get a caret under
//! it. The types stay plain; the location is looked up only when something is wrong.

use crate::diag::{Diagnostic, Error, Result, did_you_mean};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::path::{Path, PathBuf};

/// The places of a file's values, and the file they are in.
#[derive(Clone, Debug)]
pub struct Spans {
    file: PathBuf,
    root: Option<Node>,
}

#[derive(Clone, Debug)]
struct Node {
    line: usize,
    column: usize,
    /// Characters the caret underlines (a scalar's length on its line, else 1).
    width: usize,
    kids: Kids,
}

#[derive(Clone, Debug)]
enum Kids {
    Scalar,
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

impl Spans {
    /// The places of `text`'s values; a text that does not parse has none (the typed
    /// parse reports why).
    pub fn read(file: &Path, text: &str) -> Spans {
        Spans {
            file: file.to_path_buf(),
            // `.nan` is kept as a value (it is the letters' f32 fields that refuse it,
            // with a place to point at).
            root: serde_saphyr::from_str_with_options::<Node>(
                text,
                serde_saphyr::options! {
                    non_finite_float_policy: serde_saphyr::options::NonFiniteFloatPolicy::PassThrough,
                },
            )
            .ok(),
        }
    }

    /// No places known: every diagnostic names the whole file (a configuration built in
    /// code, not read from a file).
    pub fn unknown(file: &Path) -> Spans {
        Spans {
            file: file.to_path_buf(),
            root: None,
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// An error at the value under `path` — or, when that key is not written (a
    /// default), at the nearest enclosing one that is; at the whole file otherwise.
    pub fn error(&self, path: &[&str], message: impl Into<String>) -> Diagnostic {
        // The root (the whole file) is never pointed at: line 1 is not where a key
        // that is missing belongs.
        let mut found = None;
        let mut node = self.root.as_ref();
        for (depth, key) in path.iter().enumerate() {
            let Some(n) = node else { break };
            if depth > 0 && n.line > 0 {
                found = Some(n);
            }
            node = match &n.kids {
                Kids::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                Kids::Seq(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                Kids::Scalar => None,
            };
        }
        if let Some(n) = node.filter(|n| n.line > 0) {
            found = Some(n);
        }
        match found {
            Some(n) => Diagnostic::error(&self.file, n.line, n.column, message).width(n.width),
            None => Diagnostic::whole_file(&self.file, message),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<Kids>::deserialize(d)?;
        let at = s.referenced;
        let width = match s.value {
            Kids::Scalar => usize::try_from(at.span().len()).unwrap_or(1),
            _ => 1,
        };
        Ok(Node {
            line: usize::try_from(at.line()).unwrap_or(0),
            column: usize::try_from(at.column()).unwrap_or(0),
            width: width.max(1),
            kids: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for Kids {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KidsVisitor)
    }
}

struct KidsVisitor;

impl<'de> Visitor<'de> for KidsVisitor {
    type Value = Kids;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<Kids, E> {
        Ok(Kids::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kids, D::Error> {
        Kids::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Kids, D::Error> {
        Kids::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kids, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Kids::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kids, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key.0, value));
        }
        Ok(Kids::Map(entries))
    }
}

/// A mapping key as text, whatever its YAML type (`GB:`, `1:`, `true:`).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserialises YAML, turning serde-saphyr's error into a diagnostic with a hint.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
        let full = e.to_string();
        let first = full.lines().next().unwrap_or("invalid YAML");
        let message = first
            .strip_prefix("error: ")
            .unwrap_or(first)
            .split_once(": ")
            .filter(|(loc, _)| loc.starts_with("line "))
            .map_or(first, |(_, rest)| rest)
            .to_string();
        let mut diag = Diagnostic::error(path, line, column, message.clone());
        if let Some((wrong, known)) = unknown_field(&message) {
            diag.message = format!("unknown key `{wrong}`");
            if let Some(s) = did_you_mean(wrong, known.iter().copied()) {
                diag.message.push_str(&format!(" — did you mean `{s}`?"));
            }
            diag.width = wrong.chars().count();
            diag = diag.note(format!("known keys here: {}", known.join(", ")));
        }
        Error::Config(vec![diag])
    })
}

/// Picks `wrong` and the known names out of serde's "unknown field" message.
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (wrong, rest) = rest.split_once('`')?;
    let list = rest
        .split_once("expected one of ")
        .map(|(_, l)| l)
        .or_else(|| rest.split_once("expected ").map(|(_, l)| l))?;
    let known = list
        .split(',')
        .map(|s| s.trim().trim_matches('`'))
        .filter(|s| !s.is_empty())
        .collect();
    Some((wrong, known))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn unknown_key_suggests_the_right_one() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            customers: String,
            invoices: String,
        }
        let Err(Error::Config(d)) =
            parse_yaml::<T>(Path::new("c.yaml"), "customers: a\ninvoces: b\n")
        else {
            panic!("expected an error")
        };
        assert_eq!(d[0].line, 2);
        assert!(
            d[0].message
                .contains("unknown key `invoces` — did you mean `invoices`?"),
            "{:?}",
            d[0]
        );
    }

    const TEXT: &str = "\
name: x
letters:
  window: {left_mm: 20, top_mm: .nan}
stages:
  - {name: a, from: 1, to: 5}
  - name: b
    from: 6
policy:
  frequency_caps:
    sms: {max: 1, days: -7}
";

    fn at(path: &[&str]) -> (usize, usize, usize) {
        let d = Spans::read(Path::new("c.yaml"), TEXT).error(path, "m");
        (d.line, d.column, d.width)
    }

    #[test]
    fn values_are_found_by_their_key_path() {
        assert_eq!(at(&["name"]), (1, 7, 1));
        assert_eq!(at(&["letters", "window", "top_mm"]), (3, 33, 4));
        assert_eq!(at(&["stages", "0", "to"]), (5, 28, 1));
        assert_eq!(at(&["stages", "1", "from"]), (7, 11, 1));
        assert_eq!(
            at(&["policy", "frequency_caps", "sms", "days"]),
            (10, 25, 2)
        );
    }

    #[test]
    fn a_key_not_written_falls_back_to_the_nearest_one_that_is() {
        assert_eq!(at(&["letters", "window", "height_mm"]).0, 3);
        assert_eq!(at(&["letters", "body_top_mm"]).0, 3);
        assert_eq!(at(&["links", "base_url"]), (0, 0, 1));
        let none = Spans::unknown(Path::new("c.yaml")).error(&["name"], "m");
        assert_eq!((none.line, none.column), (0, 0));
        let broken = Spans::read(Path::new("c.yaml"), "a: [").error(&["a"], "m");
        assert_eq!(broken.line, 0);
    }
}
