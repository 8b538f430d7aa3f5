//! Card numbers and card verification codes in text: what they look like and how they read
//! masked.
//!
//! A card number is a run of 13 to 19 digits (single spaces or dashes between them are
//! allowed) that passes the Luhn check; it reads `4242 •••• •••• 4242`. A verification code
//! is the 3–4 digit value of a field named `cvc`, `cvv`, `cvc2`, `cvv2`, `card_code` or
//! `security_code`, as JSON, a form or prose writes it; it reads `***`.

/// What a masked verification code reads as.
pub(super) const MASKED_CVC: &str = "***";

/// The dots a masked card number shows between its first and last four digits.
const MASKED_MIDDLE: &str = "•••• ••••";

/// Field names whose value is a card verification code (compared without case).
const CVC_FIELDS: &[&str] = &["cvc", "cvv", "cvc2", "cvv2", "card_code", "security_code"];

/// Whether `name` is a field that holds a card verification code.
pub(super) fn is_cvc_field(name: &str) -> bool {
    CVC_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Whether `digits` (ASCII digits only) passes the Luhn check.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            match (i % 2 == 1, d * 2) {
                (false, _) => d,
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether `digits` is a card number: 13 to 19 ASCII digits passing the Luhn check.
pub(super) fn is_card_digits(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && luhn(digits)
}

/// How a card number reads once masked: its first and last four digits.
pub(super) fn masked_card(digits: &[u8]) -> String {
    let text = String::from_utf8_lossy(digits);
    format!("{} {MASKED_MIDDLE} {}", &text[..4], &text[text.len() - 4..])
}

/// many bytes as the run has digits.
pub(super) fn mask_numbers(text: &str, mask: impl Fn(&[u8]) -> String) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // A run inside a word (an id, an IBAN) is not a card number.
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let (end, digits) = digit_run(bytes, i);
        let in_word = bytes.get(end).is_some_and(u8::is_ascii_alphabetic);
        if !in_word && is_card_digits(&digits) {
            out.push_str(&text[copied..i]);
            out.push_str(&keep_separators(&text[i..end], &mask(&digits)));
            copied = end;
        }
        i = end.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

/// `masked` laid over `run`'s letters and digits when it is ASCII with one byte for each
/// (a starred mask: separators kept in place), else `masked` itself.
pub(super) fn keep_separators(run: &str, masked: &str) -> String {
    let chars = run.bytes().filter(u8::is_ascii_alphanumeric).count();
    if !masked.is_ascii() || masked.len() != chars {
        return masked.to_owned();
    }
    let mut masked = masked.chars();
    run.chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() => masked.next().unwrap_or(c),
            sep => sep,
        })
        .collect()
}

/// The end of the run of digits starting at `start` (a single space or dash may separate
/// groups) and its digits.
fn digit_run(bytes: &[u8], start: usize) -> (usize, Vec<u8>) {
    let mut digits = Vec::new();
    let mut end = start;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            d if d.is_ascii_digit() => {
                digits.push(d);
                i += 1;
                end = i;
            }
            b' ' | b'-' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => i += 1,
            _ => break,
        }
    }
    (end, digits)
}

/// Masks the 3–4 digit values that follow a verification-code field name, as JSON
/// (`"cvc":"123"`), a form (`card[cvc]=123`, `card%5Bcvc%5D=123`) or prose (`cvc: 123`) write it.
pub(super) fn mask_cvcs(text: &str, mask: impl Fn(usize) -> String) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < lower.len() {
        // Every field name starts with `c` or `s`: other bytes are passed over at once.
        if !matches!(lower.as_bytes()[i], b'c' | b's') {
            i += lower[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let Some(name) = CVC_FIELDS
            .iter()
            .filter(|f| lower[i..].starts_with(*f) && word_starts(&lower, i))
            .max_by_key(|f| f.len())
        else {
            i += lower[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let after = i + name.len();
        match cvc_value(&lower, after) {
            Some((start, end)) => {
                out.push_str(&text[copied..start]);
                out.push_str(&mask(end - start));
                copied = end;
                i = end;
            }
            None => i = after,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether a field name may start at `i`: not in the middle of a word (an encoded `[`,
/// `%5b`, ends one).
fn word_starts(text: &str, i: usize) -> bool {
    text[..i].ends_with("%5b")
        || !text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Where the 3–4 digit value after a field name that ends at `from` lies.
fn cvc_value(text: &str, from: usize) -> Option<(usize, usize)> {
    let rest = &text[from..];
    let skipped = rest.len()
        - rest
            .trim_start_matches("%5d")
            .trim_start_matches([']', '"', '\'', '\\', ' '])
            .len();
    let rest = &rest[skipped..];
    let sep = rest.strip_prefix([':', '='])?;
    let value = sep.trim_start_matches([' ', '"', '\'', '\\']);
    let start = from + skipped + 1 + (sep.len() - value.len());
    let len = value.bytes().take_while(u8::is_ascii_digit).count();
    (3..=4).contains(&len).then_some((start, start + len))
}

/// A card number with its middle digits as `*`, one per digit (for [`super::blank_text`]).
pub(super) fn starred_card(digits: &[u8]) -> String {
    let text = String::from_utf8_lossy(digits);
    format!(
        "{}{}{}",
        &text[..4],
        "*".repeat(digits.len() - 8),
        &text[text.len() - 4..]
    )
}

#[cfg(test)]
mod tests {
    use super::super::mask_text;

    /// [`mask_cvcs`] looks for a field name only where a `c` or an `s` is.
    #[test]
    fn every_cvc_field_starts_with_c_or_s() {
        assert!(super::CVC_FIELDS.iter().all(|f| f.starts_with(['c', 's'])));
    }

    #[test]
    fn card_numbers_are_masked_where_luhn_passes() {
        assert_eq!(mask_text("4242424242424242"), "4242 •••• •••• 4242");
        assert_eq!(
            mask_text("pay 4242 4242 4242 4242 now"),
            "pay 4242 •••• •••• 4242 now"
        );
        assert_eq!(
            mask_text("x=5555-5555-5555-4444&"),
            "x=5555 •••• •••• 4444&"
        );
        assert_eq!(
            mask_text("card[number]=378282246310005"),
            "card[number]=3782 •••• •••• 0005"
        );
        // Fails Luhn, too short, too long: left alone.
        assert_eq!(mask_text("4242424242424241"), "4242424242424241");
        assert_eq!(mask_text("424242424242"), "424242424242");
        assert_eq!(mask_text("42424242424242424242"), "42424242424242424242");
        assert_eq!(mask_text("amount=1000 and 12"), "amount=1000 and 12");
        assert_eq!(mask_text("ch_4242424242424242x"), "ch_4242424242424242x");
        assert_eq!(mask_text("tok_visa"), "tok_visa");
    }

    #[test]
    fn verification_codes_are_masked_by_their_field_name() {
        assert_eq!(
            mask_text("card%5Bcvc%5D=123&card%5Bname%5D=A"),
            "card%5Bcvc%5D=***&card%5Bname%5D=A"
        );
        assert_eq!(mask_text("card[cvv]=1234"), "card[cvv]=***");
        assert_eq!(mask_text(r#"{"CVC": "123"}"#), r#"{"CVC": "***"}"#);
        assert_eq!(mask_text("security_code: 999"), "security_code: ***");
        // Inside a JSON string written as text.
        assert_eq!(
            mask_text(r#""{\"cvc\":\"123\"}""#),
            r#""{\"cvc\":\"***\"}""#
        );
        // A word that merely contains the name, or a value of another length, is left.
        assert_eq!(mask_text("abcvc=123"), "abcvc=123");
        assert_eq!(mask_text("cvc=12"), "cvc=12");
    }
}
