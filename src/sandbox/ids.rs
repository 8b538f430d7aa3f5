//! Identifiers in each provider's format.
//!
//! Whalestack uses 12 hex characters, White Payments and WHITESTONES prefixed random ids
//! (`ch_…`, `pi_…`), Whitepay UUIDs. Whitepay balance and currency ids are derived from the
//! currency code so they stay the same across resets and restarts.

use crate::signing::sha256_hex;

/// `len` random lowercase hex characters.
pub fn hex(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        out.push_str(&hex::encode(rand::random::<[u8; 16]>()));
    }
    out.truncate(len);
    out
}

/// `prefix` followed by `len` random hex characters (`ch_913ac1cf…`).
pub fn prefixed(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", hex(len))
}

/// A random UUID (version 4 layout).
pub fn uuid() -> String {
    let mut bytes = rand::random::<[u8; 16]>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format_uuid(&hex::encode(bytes))
}

/// A UUID derived from `name`: the same name always gives the same id.
pub fn stable_uuid(name: &str) -> String {
    format_uuid(&sha256_hex(&[name.as_bytes()])[..32])
}

fn format_uuid(h: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let id = hex(12);
        assert_eq!(id.len(), 12);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(hex(12), hex(12));
        assert!(prefixed("ch_", 29).starts_with("ch_"));
        assert_eq!(prefixed("ch_", 29).len(), 32);
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(stable_uuid("USDT"), stable_uuid("USDT"));
        assert_ne!(stable_uuid("USDT"), stable_uuid("BTC"));
    }
}
