//! Reading an outbox back, for `send`, `outbox show` and `report`: only a complete one
//! (its seal checked first, [`super::seal::check`]), every manifest entry checked to point
//! inside the outbox at a size a message can have, an SMS's number and text typed.

use super::Entry;
use super::seal::{Seal, check};
use crate::dataset::Channel;
use crate::diag::{Error, Result};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// A message's bytes are at most this long (the render budget is far below it): a
/// manifest line asking for more is corrupt, not a message to allocate for.
pub const MAX_MESSAGE_BYTES: u64 = 256 << 20;

/// One line of `sms.jsonl` (fields in the order serde_json has always written them).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SmsLine {
    pub encoding: String,
    pub id: String,
    pub scheduled_at: String,
    pub segments: u32,
    pub text: String,
    pub to: String,
}

/// A complete outbox, read back: its seal and its manifest, every entry checked to
/// point inside the outbox.
pub struct Outbox {
    pub root: PathBuf,
    pub seal: Seal,
    pub entries: Vec<Entry>,
}

impl Outbox {
    pub fn open(dir: &Path) -> Result<Outbox> {
        let seal = check(dir)?;
        let path = dir.join("manifest.jsonl");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut entries = Vec::with_capacity(seal.messages);
        for (k, line) in text.lines().enumerate() {
            let bad = |why: String| Error::Refused(format!("{}:{}: {why}", path.display(), k + 1));
            let e: Entry =
                serde_json::from_str(line).map_err(|e| bad(format!("not a manifest line: {e}")))?;
            check_entry(&e).map_err(bad)?;
            entries.push(e);
        }
        if entries.len() != seal.messages {
            return Err(Error::Refused(format!(
                "{}: {} messages, the seal says {}",
                path.display(),
                entries.len(),
                seal.messages
            )));
        }
        Ok(Outbox {
            root: dir.to_path_buf(),
            seal,
            entries,
        })
    }

    /// The SMS of `sms.jsonl` by id (sealed with the manifest, so read as they are).
    pub fn sms(&self) -> Result<HashMap<String, SmsLine>> {
        let path = self.root.join("sms.jsonl");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = HashMap::new();
        for (k, line) in text.lines().enumerate() {
            let sms: SmsLine = serde_json::from_str(line).map_err(|e| {
                Error::Refused(format!(
                    "{}:{}: not an SMS line: {e}",
                    path.display(),
                    k + 1
                ))
            })?;
            out.insert(sms.id.clone(), sms);
        }
        Ok(out)
    }

    /// The stored bytes of one message (an e-mail, a letter, a page; an SMS's text is in
    /// sms.jsonl), checked against the file's size first: a corrupt offset is an error,
    /// not a huge allocation.
    pub fn stored_bytes(&self, e: &Entry) -> std::result::Result<Vec<u8>, String> {
        use std::os::unix::fs::FileExt;
        let path = self.root.join(&e.path);
        let f = std::fs::File::open(&path).map_err(|err| format!("{}: {err}", e.path))?;
        read_checked(&f, e)?;
        let mut buf = vec![0; e.length as usize];
        f.read_exact_at(&mut buf, e.offset)
            .map_err(|err| format!("{}: {err}", e.path))?;
        Ok(if e.path.ends_with(".mbox") {
            super::mboxrd_unescape(&buf)
        } else {
            buf
        })
    }
}

/// What each message claims, for matching payments received since the export.
pub fn claims(entries: &[Entry]) -> impl Iterator<Item = crate::received::Claim> + '_ {
    entries
        .iter()
        .filter(|e| !e.currency.is_empty())
        .flat_map(|e| {
            let main = crate::received::Claim {
                customer: e.customer_id.clone(),
                name: e.name.clone(),
                currency: e.currency.clone(),
                amount: e.amount.unwrap_or_default(),
                invoices: e.invoices.iter().map(|(i, _)| i.clone()).collect(),
            };
            let others = e.others.iter().map(|o| crate::received::Claim {
                customer: e.customer_id.clone(),
                name: e.name.clone(),
                currency: o.currency.clone(),
                amount: o.amount,
                invoices: o.invoices.iter().map(|(i, _)| i.clone()).collect(),
            });
            std::iter::once(main).chain(others)
        })
}

/// Whether `e`'s bytes lie inside `f`.
pub fn read_checked(f: &std::fs::File, e: &Entry) -> std::result::Result<(), String> {
    let size = f
        .metadata()
        .map_err(|err| format!("{}: {err}", e.path))?
        .len();
    check_span(e, size)
}

/// The entry's bytes lie within a file of `size` bytes.
pub fn check_span(e: &Entry, size: u64) -> std::result::Result<(), String> {
    match e.offset.checked_add(e.length) {
        Some(end) if end <= size => Ok(()),
        _ => Err(format!(
            "{}: {} bytes at offset {} lie past the end of the file ({size} bytes)",
            e.id, e.length, e.offset
        )),
    }
}

/// A manifest entry may only point at the outbox's own message files.
pub fn check_entry(e: &Entry) -> std::result::Result<(), String> {
    let p = Path::new(&e.path);
    let normal = !e.path.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !e.path.contains('\\');
    let first = p.components().next().and_then(|c| c.as_os_str().to_str());
    let allowed = match e.channel {
        Channel::Email => first == Some("email"),
        Channel::Sms => e.path == "sms.jsonl",
        Channel::Letter => first == Some("letters"),
        Channel::Web => first == Some("web"),
        Channel::Call => false,
    };
    if !normal || !allowed {
        return Err(format!(
            "`{}` ({}) is not a {} message file of this outbox",
            e.path.escape_debug(),
            e.id.escape_debug(),
            e.channel
        ));
    }
    if e.length > MAX_MESSAGE_BYTES {
        return Err(format!(
            "{}: {} bytes is more than a message can be ({MAX_MESSAGE_BYTES})",
            e.id.escape_debug(),
            e.length
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(channel: &str, path: &str) -> Entry {
        Entry {
            id: "C1-x".into(),
            customer_id: "C1".into(),
            channel: Channel::parse(channel).unwrap(),
            cluster: "forgetful".into(),
            stage: "reminder".into(),
            locale: "en".into(),
            to: String::new(),
            subject: None,
            path: path.into(),
            offset: 0,
            length: 10,
            sha256: String::new(),
            message_id: None,
            sms_encoding: None,
            sms_segments: None,
            link: String::new(),
            scheduled_at: String::new(),
            template: String::new(),
            invoices: Vec::new(),
            amount: None,
            currency: String::new(),
            others: Vec::new(),
            pages: Vec::new(),
            name: None,
            statement: false,
        }
    }

    #[test]
    fn entries_cannot_point_outside_their_folder() {
        assert!(check_entry(&entry("email", "email/part-00000.mbox")).is_ok());
        assert!(check_entry(&entry("letter", "letters/C1-letter.pdf")).is_ok());
        assert!(check_entry(&entry("web", "web/TOKEN/index.html")).is_ok());
        assert!(check_entry(&entry("sms", "sms.jsonl")).is_ok());
        for (ch, p) in [
            ("email", "../../etc/passwd"),
            ("email", "/etc/passwd"),
            ("email", "email/../../x"),
            ("letter", "email/part-00000.mbox"),
            ("sms", "email/x"),
            ("email", ""),
            ("email", "email\\..\\x"),
        ] {
            assert!(check_entry(&entry(ch, p)).is_err(), "{ch} {p}");
        }
        let mut huge = entry("email", "email/part-00000.mbox");
        huge.length = 1 << 60;
        assert!(check_entry(&huge).is_err());
    }
}
