//! `dunwell outbox show`: one message of a complete outbox, as it will be sent.

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
