//! IBANs in text (ISO 13616): two capital letters, two check digits and 11 to 30 capital
//! letters or digits, written compact or in groups of four, whose mod-97 check holds. A
//! masked IBAN shows its country, check digits and last four characters: `DE52 •••• 7123`.

/// The shortest and longest IBAN, in characters without spaces.
const LENGTH: std::ops::RangeInclusive<usize> = 15..=34;

/// Whether `chars` (capital letters and digits, no spaces) is an IBAN.
fn is_iban(chars: &[u8]) -> bool {
    if !LENGTH.contains(&chars.len())
        || !chars[..2].iter().all(u8::is_ascii_uppercase)
        || !chars[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    // The country and check digits move to the end; letters count as 10..35.
    let rotated = chars[4..].iter().chain(&chars[..4]);
    let remainder = rotated.fold(0u32, |acc, &c| {
        let value = u32::from(match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'A' + 10,
        });
        let acc = if value >= 10 { acc * 100 } else { acc * 10 };
        (acc + value) % 97
    });
    remainder == 1
}

/// How an IBAN reads masked.
pub(super) fn masked_iban(chars: &[u8]) -> String {
    let text = String::from_utf8_lossy(chars);
    format!("{} •••• {}", &text[..4], &text[text.len() - 4..])
}

/// An IBAN with everything but its first and last four characters as `*`, one per
/// character (for [`super::blank_text`]).
pub(super) fn starred_iban(chars: &[u8]) -> String {
    let text = String::from_utf8_lossy(chars);
    format!(
        "{}{}{}",
        &text[..4],
        "*".repeat(chars.len() - 8),
        &text[text.len() - 4..]
    )
}

/// `text` with every IBAN replaced by `mask` of its characters; spaces between groups are
/// kept when `mask` writes one byte per character.
pub(super) fn mask_ibans(text: &str, mask: impl Fn(&[u8]) -> String) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        let starts =
            bytes[i].is_ascii_uppercase() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        match starts.then(|| longest_iban(bytes, i)).flatten() {
            Some((end, chars)) => {
                out.push_str(&text[copied..i]);
                out.push_str(&super::card::keep_separators(&text[i..end], &mask(&chars)));
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The end and characters of the longest IBAN starting at `start`: the run of capitals and
/// digits (single spaces between groups allowed), cut at a group boundary if need be.
fn longest_iban(bytes: &[u8], start: usize) -> Option<(usize, Vec<u8>)> {
    let mut chars = Vec::new();
    let mut ends = Vec::new();
    let mut i = start;
    while i < bytes.len() && chars.len() < *LENGTH.end() {
        match bytes[i] {
            c if c.is_ascii_uppercase() || c.is_ascii_digit() => {
                chars.push(c);
                i += 1;
            }
            b' ' if bytes
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
            {
                ends.push((i, chars.len()));
                i += 1;
            }
            _ => break,
        }
    }
    if i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
        // Runs on into a word (lower case): not an IBAN unless cut at a space.
    } else {
        ends.push((i, chars.len()));
    }
    ends.into_iter()
        .rev()
        .find(|&(_, n)| is_iban(&chars[..n]))
        .map(|(end, n)| (end, chars[..n].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::super::{blank_text, mask_text};

    #[test]
    fn ibans_are_masked_when_their_check_holds() {
        assert_eq!(mask_text("GB82WEST12345698765432"), "GB82 •••• 5432");
        assert_eq!(
            mask_text("to DE89 3704 0044 0532 0130 00 EUR"),
            "to DE89 •••• 3000 EUR"
        );
        assert_eq!(
            mask_text("iban=DE52SENT1NEL0000077123&"),
            "iban=DE52 •••• 7123&"
        );
        // A wrong check digit, a word, an id: left alone.
        assert_eq!(
            mask_text("GB83WEST12345698765432"),
            "GB83WEST12345698765432"
        );
        assert_eq!(mask_text("COMPLETED"), "COMPLETED");
        assert_eq!(mask_text("UAPELT22XXX"), "UAPELT22XXX");
        assert_eq!(
            blank_text("iban: DE89 3704 0044 0532 0130 00"),
            "iban: DE89 **** **** **** **30 00"
        );
    }
}
