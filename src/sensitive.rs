//! Card data, found and masked: the one place that says what a card number and a card
//! verification code look like, and how they read once masked.
//!
//! A card number is a run of 13 to 19 digits (single spaces or dashes between them are
//! allowed) that passes the Luhn check; it reads `4242 •••• •••• 4242`. A card verification
//! code is the value of a field named `cvc`, `cvv`, `cvc2`, `cvv2`, `card_code` or
//! `security_code`; it reads `***`. [`mask_text`] works on any text (a form body, a JSON body,
//! an error message), [`mask_value`] on JSON. Plans, stored requests, errors and stored
//! answers pass through them; the request digest is taken of the real request first, so a
//! changed card still changes the digest.
//!
//! A leaf: it depends on nothing in the crate, so every layer may use it.

use serde_json::{Map, Value};

/// What a masked verification code reads as.
pub const MASKED_CVC: &str = "***";

/// The dots a masked card number shows between its first and last four digits.
const MASKED_MIDDLE: &str = "•••• ••••";

/// Field names whose value is a card verification code (compared without case).
const CVC_FIELDS: &[&str] = &["cvc", "cvv", "cvc2", "cvv2", "card_code", "security_code"];

/// Whether `name` is a field that holds a card verification code.
pub fn is_cvc_field(name: &str) -> bool {
    CVC_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Whether `digits` (ASCII digits only) passes the Luhn check.
fn luhn(digits: &[u8]) -> bool {
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
    sum % 10 == 0
}

/// Whether `digits` is a card number: 13 to 19 ASCII digits passing the Luhn check.
fn is_card_digits(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && luhn(digits)
}

/// How a card number reads once masked: its first and last four digits.
fn masked_card(digits: &[u8]) -> String {
    let text = String::from_utf8_lossy(digits);
    format!("{} {MASKED_MIDDLE} {}", &text[..4], &text[text.len() - 4..])
}

/// Whether `text` holds a card number or a verification code written as a field.
pub fn has_card_data(text: &str) -> bool {
    mask_text(text) != text
}

/// `text` with every card number and every verification code masked.
pub fn mask_text(text: &str) -> String {
    mask_cvcs(&mask_numbers(text, masked_card), |_| MASKED_CVC.to_owned())
}

/// `text` with the same masking as [`mask_text`] that keeps every byte where it was (the
/// digits hidden become `*`), so that the spans of a diagnostic still point at the right
/// place in a workflow file shown with its card data hidden.
pub fn blank_text(text: &str) -> String {
    let stars = |digits: &[u8]| {
        let text = String::from_utf8_lossy(digits);
        format!(
            "{}{}{}",
            &text[..4],
            "*".repeat(digits.len() - 8),
            &text[text.len() - 4..]
        )
    };
    mask_cvcs(&mask_numbers(text, stars), |len| "*".repeat(len))
}

/// Masks the digit runs that are card numbers with `mask` of their digits; a run with
/// separators keeps them (for [`blank_text`]'s byte positions) only when `mask` writes as
/// many bytes as the run has digits.
fn mask_numbers(text: &str, mask: impl Fn(&[u8]) -> String) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let (end, digits) = digit_run(bytes, i);
        if is_card_digits(&digits) {
            out.push_str(&text[copied..i]);
            out.push_str(&keep_separators(&text[i..end], &mask(&digits)));
            copied = end;
        }
        i = end.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

/// `masked` laid over `run`'s digits when it has one byte per digit (separators kept in
/// place), else `masked` itself.
fn keep_separators(run: &str, masked: &str) -> String {
    let digits = run.bytes().filter(u8::is_ascii_digit).count();
    if masked.len() != digits {
        return masked.to_owned();
    }
    let mut masked = masked.chars();
    run.chars()
        .map(|c| match c {
            d if d.is_ascii_digit() => masked.next().unwrap_or(d),
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
fn mask_cvcs(text: &str, mask: impl Fn(usize) -> String) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < lower.len() {
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
            .trim_start_matches([']', '"', '\'', ' '])
            .len();
    let rest = &rest[skipped..];
    let sep = rest.strip_prefix([':', '='])?;
    let value = sep.trim_start_matches([' ', '"', '\'']);
    let start = from + skipped + 1 + (sep.len() - value.len());
    let len = value.bytes().take_while(u8::is_ascii_digit).count();
    (3..=4).contains(&len).then_some((start, start + len))
}

/// `value` with every card number (in a string, or an integer) and every verification
/// code field masked, at every depth.
pub fn mask_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask_text(s)),
        Value::Number(n) => {
            let text = n.to_string();
            if is_card_digits(text.as_bytes()) {
                Value::String(masked_card(text.as_bytes()))
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(mask_value).collect()),
        Value::Object(map) => Value::Object(mask_map(map)),
        other => other.clone(),
    }
}

/// [`mask_value`] of an object's fields.
pub fn mask_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Null => Value::Null,
                _ if is_cvc_field(k) => Value::String(MASKED_CVC.into()),
                other => mask_value(other),
            };
            (k.clone(), v)
        })
        .collect()
}

/// The paths (`source.number`, `payees[2].card`) at which `value` holds card data.
pub fn card_paths(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_paths(value, &mask_value(value), String::new(), &mut out);
    out
}

fn collect_paths(real: &Value, masked: &Value, path: String, out: &mut Vec<String>) {
    match (real, masked) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect_paths(v, &b[k], child, out);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                collect_paths(x, y, format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a != b => out.push(path),
        _ => {}
    }
}

/// What a redacted answer field reads as.
pub const REDACTED: &str = "***";

/// Fields of a provider's answers to redact, as dotted paths (`targetAccount.fields`,
/// `card.name`) matched against the end of a field's path, arrays crossed: `email` is every
/// `email` field, `card.name` a `name` inside a `card`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPaths {
    paths: Vec<Vec<String>>,
}

impl FieldPaths {
    /// The paths, each `a.b.c`.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        FieldPaths {
            paths: paths
                .into_iter()
                .map(|p| p.split('.').map(str::to_owned).collect())
                .filter(|p: &Vec<String>| p.iter().all(|seg| !seg.is_empty()))
                .collect(),
        }
    }

    /// `value` with every matching field (that is not null) replaced by [`REDACTED`], and
    /// every card number and verification code in the rest masked ([`mask_text`]).
    pub fn redact(&self, value: Value) -> Value {
        self.walk(value, &mut Vec::new())
    }

    fn walk(&self, value: Value, path: &mut Vec<String>) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        path.push(k);
                        let v = match v {
                            Value::Null => Value::Null,
                            _ if self.matches(path) => Value::String(REDACTED.into()),
                            v => self.walk(v, path),
                        };
                        (path.pop().expect("pushed above"), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.walk(v, path)).collect())
            }
            Value::String(s) => Value::String(mask_text(&s)),
            other => other,
        }
    }

    fn matches(&self, path: &[String]) -> bool {
        self.paths.iter().any(|p| path.ends_with(p))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
        // Fails Luhn, too short, too long: left alone.
        assert_eq!(mask_text("4242424242424241"), "4242424242424241");
        assert_eq!(mask_text("424242424242"), "424242424242");
        assert_eq!(mask_text("42424242424242424242"), "42424242424242424242");
        assert_eq!(mask_text("amount=1000 and 12"), "amount=1000 and 12");
        assert!(has_card_data("card[number]=378282246310005"));
        assert!(!has_card_data("tok_visa"));
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
        // A word that merely contains the name, or a value of another length, is left.
        assert_eq!(mask_text("abcvc=123"), "abcvc=123");
        assert_eq!(mask_text("cvc=12"), "cvc=12");
    }

    #[test]
    fn blanking_keeps_every_byte_in_place() {
        let text = "number: \"4242 4242 4242 4242\"\ncvc: 737 # x";
        let blank = blank_text(text);
        assert_eq!(blank, "number: \"4242 **** **** 4242\"\ncvc: *** # x");
        assert_eq!(blank.len(), text.len());
    }

    #[test]
    fn json_values_are_masked_at_every_depth() {
        let request = json!({
            "amount": "10.00",
            "source": {"number": "4242424242424242", "cvc": "123", "exp_month": 12},
            "cards": [4_000_056_655_665_556_u64],
            "cvv": null,
        });
        assert_eq!(
            mask_value(&request),
            json!({
                "amount": "10.00",
                "source": {"number": "4242 •••• •••• 4242", "cvc": "***", "exp_month": 12},
                "cards": ["4000 •••• •••• 5556"],
                "cvv": null,
            })
        );
        assert_eq!(
            card_paths(&request),
            ["source.number", "source.cvc", "cards[0]"]
        );
        assert!(card_paths(&json!({"amount": "1", "id": 7})).is_empty());
    }

    #[test]
    fn answer_fields_are_redacted_by_the_end_of_their_path() {
        let paths = FieldPaths::new(["targetAccount.fields", "card.name", "email", ""]);
        let answer = json!({
            "id": "tr_1", "state": "COMPLETED", "amount": "10.00",
            "targetAccount": {"network": "SEPA", "fields": {"iban": "DE89370400440532013000"}},
            "card": {"last4": "4242", "name": "A. Ahmed"},
            "customers": [{"email": "a@b.co", "name": "kept"}],
            "note": "card 4242424242424242",
            "email_verified": true,
            "ip": null,
        });
        assert_eq!(
            paths.redact(answer),
            json!({
                "id": "tr_1", "state": "COMPLETED", "amount": "10.00",
                "targetAccount": {"network": "SEPA", "fields": "***"},
                "card": {"last4": "4242", "name": "***"},
                "customers": [{"email": "***", "name": "kept"}],
                "note": "card 4242 •••• •••• 4242",
                "email_verified": true,
                "ip": null,
            })
        );
    }
}
