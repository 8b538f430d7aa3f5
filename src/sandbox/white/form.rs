//! Form-encoded request bodies as White Payments takes them, with one level of bracketed
//! keys (`card[number]=…`, `metadata[order]=…`).

use std::collections::BTreeMap;

use super::error::WhiteError;

/// A decoded form.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    flat: BTreeMap<String, String>,
    groups: BTreeMap<String, BTreeMap<String, String>>,
}

impl Form {
    /// Decodes `application/x-www-form-urlencoded` bytes (an empty body is an empty form).
    ///
    /// # Errors
    /// A `request` error when the body is not UTF-8.
    pub fn parse(body: &[u8]) -> Result<Self, WhiteError> {
        let text = std::str::from_utf8(body).map_err(|_| {
            WhiteError::request("invalid_request", "The request body is not valid UTF-8.")
        })?;
        let mut form = Form::default();
        if text.trim().is_empty() {
            return Ok(form);
        }
        // The url crate (re-exported by reqwest) implements the form decoding rules: `+` is a
        // space and percent escapes are UTF-8.
        let mut url = reqwest::Url::parse("http://form.invalid/").expect("a valid base URL");
        url.set_query(Some(text));
        for (key, value) in url.query_pairs() {
            match key
                .split_once('[')
                .and_then(|(g, rest)| Some((g, rest.strip_suffix(']')?)))
            {
                Some((group, sub)) => {
                    form.groups
                        .entry(group.to_string())
                        .or_default()
                        .insert(sub.to_string(), value.into_owned());
                }
                None => {
                    form.flat.insert(key.into_owned(), value.into_owned());
                }
            }
        }
        Ok(form)
    }

    /// A plain field, trimmed, if present and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.flat
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// A bracketed group (`card[…]`).
    pub fn group(&self, key: &str) -> Option<&BTreeMap<String, String>> {
        self.groups.get(key)
    }

    /// A positive integer field (an amount in minor units).
    ///
    /// # Errors
    /// A `request` error naming the field when it is not a positive integer.
    pub fn positive_int(&self, key: &str) -> Result<Option<i64>, WhiteError> {
        let Some(text) = self.get(key) else {
            return Ok(None);
        };
        match text.parse::<i64>() {
            Ok(n) if n > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
            _ => Err(WhiteError::param(
                "invalid_amount",
                key,
                format!(
                    "`{key}` must be a positive integer in the currency's smallest unit, got `{text}`."
                ),
            )),
        }
    }

    /// A boolean field (`true`/`false`).
    ///
    /// # Errors
    /// A `request` error naming the field when it is something else.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, WhiteError> {
        match self.get(key) {
            None => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(other) => Err(WhiteError::param(
                "invalid_param",
                key,
                format!("`{key}` must be true or false, got `{other}`."),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_flat_and_bracketed_keys() {
        let form = Form::parse(b"amount=1000&currency=aed&email=a%40b.com&card%5Bnumber%5D=4242&card[name]=Abdullah+Ahmed&metadata[k]=v%20w").unwrap();
        assert_eq!(form.get("amount"), Some("1000"));
        assert_eq!(form.get("email"), Some("a@b.com"));
        assert_eq!(form.group("card").unwrap()["number"], "4242");
        assert_eq!(form.group("card").unwrap()["name"], "Abdullah Ahmed");
        assert_eq!(form.group("metadata").unwrap()["k"], "v w");
        assert_eq!(form.positive_int("amount").unwrap(), Some(1000));
        assert!(
            Form::parse(b"amount=10.5")
                .unwrap()
                .positive_int("amount")
                .is_err()
        );
        assert!(
            Form::parse(b"amount=-1")
                .unwrap()
                .positive_int("amount")
                .is_err()
        );
        assert_eq!(Form::parse(b"").unwrap(), Form::default());
        assert_eq!(
            Form::parse(b"capture=false")
                .unwrap()
                .boolean("capture")
                .unwrap(),
            Some(false)
        );
    }
}
