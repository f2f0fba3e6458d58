//! Hashes every stage uses: hexadecimal, SHA-256 of bytes, a stable shard of an id.
//! A leaf: it imports nothing of dunwell's, so that the outbox, the letters, the
//! e-mails and the sender can all share it without importing each other.

use sha2::Digest;

/// Lower-case hexadecimal, without an allocation per byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The SHA-256 of `bytes`, in hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

/// Which of N shards a customer belongs to: a hash of their id, stable across runs,
/// machines and versions.
pub fn shard_of(customer_id: &str, n: u64) -> u64 {
    let d = sha2::Sha256::digest(customer_id.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) % n
}

/// What an SMS's `sha256` in the manifest covers: the number it goes to and its text —
/// the reviewed recipient is part of the reviewed message, as an e-mail's `To:` is part
/// of its bytes.
pub fn sms_digest(to: &str, text: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(to.as_bytes());
    h.update(b"\n");
    h.update(text.as_bytes());
    hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_digests() {
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(sms_digest("+1", "a"), sms_digest("+2", "a"));
        assert!(shard_of("C1", 4) < 4);
    }
}
