//! `dunwell outbox show`: one message of a complete outbox, as it will be sent.

use super::Exit;
use crate::diag::{Error, Result};

pub fn show(outbox: &std::path::Path, id: &str) -> Result<Exit> {
    // Only a complete outbox, its entries checked to point inside it.
    let sealed = crate::outbox::seal::Outbox::open(outbox)?;
    let Some(entry) = sealed.entries.iter().find(|e| e.id == id) else {
        return Err(Error::Input(format!(
            "no message `{}` in {}",
            id.escape_debug(),
            outbox.join("manifest.jsonl").display()
        )));
    };
    if entry.channel == "sms" {
        let path = outbox.join("sms.jsonl");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l)
                .map_err(|e| Error::Refused(format!("{}: {e}", path.display())))?;
            if v["id"] == id {
                out!("{}", v["text"].as_str().unwrap_or(""));
                return Ok(Exit::Ok);
            }
        }
        return Err(Error::Refused(format!(
            "{}: no SMS `{}` although the manifest lists it",
            path.display(),
            id.escape_debug()
        )));
    }
    let bytes = sealed.stored_bytes(entry).map_err(Error::Refused)?;
    out_part!("{}", String::from_utf8_lossy(&bytes));
    Ok(Exit::Ok)
}
