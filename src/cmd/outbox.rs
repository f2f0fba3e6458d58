//! `dunwell outbox show`: one message of a complete outbox, as it will be sent;
//! `dunwell outbox posted`: its print batch went to the post.

use super::Exit;
use crate::dataset::Channel;
use crate::diag::{Error, Result};

pub fn show(outbox: &std::path::Path, id: &str) -> Result<Exit> {
    // Only a complete outbox, its entries checked to point inside it.
    let sealed = crate::outbox::Outbox::open(outbox)?;
    let Some(entry) = sealed.entries.iter().find(|e| e.id == id) else {
        return Err(Error::Input(format!(
            "no message `{}` in {}",
            id.escape_debug(),
            outbox.join("manifest.jsonl").display()
        )));
    };
    if entry.channel == Channel::Sms {
        let Some(sms) = sealed.sms()?.remove(id) else {
            return Err(Error::Refused(format!(
                "{}: no SMS `{}` although the manifest lists it",
                outbox.join("sms.jsonl").display(),
                id.escape_debug()
            )));
        };
        out!("{}", sms.text);
        return Ok(Exit::Ok);
    }
    let bytes = sealed.stored_bytes(entry).map_err(Error::Refused)?;
    out_part!("{}", String::from_utf8_lossy(&bytes));
    Ok(Exit::Ok)
}

pub fn posted(
    outbox: &std::path::Path,
    flag: Option<&str>,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Exit> {
    let loc = crate::send::history::location_of(outbox, flag)?.ok_or_else(|| {
        Error::Input(format!(
            "{}: the campaign names no history store (add `history: PATH` to it, or give --history PATH)",
            outbox.display()
        ))
    })?;
    let (letters, marked) =
        crate::send::history::posted(outbox, &loc, &super::history::timestamp(now))?;
    out!(
        "history {}: {letters} letter(s) in the print batch, {marked} newly marked delivered",
        loc.describe()
    );
    Ok(Exit::Ok)
}
