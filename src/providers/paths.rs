//! Endpoint paths by operation name, with the provider block's `paths` overrides applied.
//!
//! Each adapter declares its operations and their documented (or chosen) default paths; a
//! workflow may override any of them (`paths: { payouts: /v2/payouts }`). An override for an
//! operation the adapter does not have is a configuration error, so a typo cannot silently
//! leave the default in place.

use std::collections::BTreeMap;

use super::error::ProviderError;

/// The resolved paths of one provider block.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    paths: BTreeMap<&'static str, String>,
}

impl Paths {
    /// `defaults` with `overrides` applied.
    ///
    /// # Errors
    /// [`ProviderError::Config`] for an override naming an unknown operation or a path that
    /// does not start with `/`.
    pub(crate) fn new(
        provider: &str,
        defaults: &[(&'static str, &str)],
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, ProviderError> {
        let mut paths: BTreeMap<&'static str, String> = defaults
            .iter()
            .map(|(op, p)| (*op, (*p).to_string()))
            .collect();
        for (op, path) in overrides {
            let Some(slot) = paths.get_mut(op.as_str()) else {
                let known: Vec<_> = defaults.iter().map(|(op, _)| *op).collect();
                return Err(ProviderError::Config {
                    provider: provider.to_string(),
                    reason: format!(
                        "`paths.{op}` is not an operation of this provider (known: {})",
                        known.join(", ")
                    ),
                });
            };
            if !path.starts_with('/') {
                return Err(ProviderError::Config {
                    provider: provider.to_string(),
                    reason: format!("`paths.{op}` must start with `/`, got `{path}`"),
                });
            }
            *slot = path.clone();
        }
        Ok(Paths { paths })
    }

    /// The path of `op`.
    ///
    /// # Panics
    /// If `op` is not one of the adapter's declared operations (a bug in the adapter).
    pub(crate) fn get(&self, op: &str) -> &str {
        self.paths
            .get(op)
            .unwrap_or_else(|| panic!("operation `{op}` is not declared"))
    }

    /// The path of `op` with `{id}` replaced by `id`, percent-encoded as a path segment.
    pub(crate) fn with_id(&self, op: &str, id: &str) -> String {
        self.get(op).replace("{id}", &encode_segment(id))
    }
}

/// Percent-encodes everything but unreserved characters, so an id cannot change the path.
/// Placeholders of a preview (`{…}`) are kept readable.
fn encode_segment(id: &str) -> String {
    if id.starts_with('{') && id.ends_with('}') {
        return id.to_string();
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: &[(&str, &str)] = &[("payouts", "/payouts"), ("payout", "/payouts/{id}")];

    #[test]
    fn overrides_apply_and_typos_are_refused() {
        let mut o = BTreeMap::new();
        o.insert("payouts".to_string(), "/v2/payouts".to_string());
        let p = Paths::new("ws", DEFAULTS, &o).unwrap();
        assert_eq!(p.get("payouts"), "/v2/payouts");
        assert_eq!(p.with_id("payout", "po_1/../x"), "/payouts/po_1%2F..%2Fx");
        assert_eq!(p.with_id("payout", "{payout id}"), "/payouts/{payout id}");
        o.insert("payuots".to_string(), "/x".to_string());
        let err = Paths::new("ws", DEFAULTS, &o).unwrap_err();
        assert!(
            err.to_string()
                .contains("`paths.payuots` is not an operation")
        );
        let mut o = BTreeMap::new();
        o.insert("payout".to_string(), "payouts/{id}".to_string());
        assert!(Paths::new("ws", DEFAULTS, &o).is_err());
    }
}
