//! Asset codes to Whalestack asset ids.
//!
//! Workflows may name an asset by its code (`USDC`) or by its full Stellar id
//! (`USDC:GA5Z…`). A full id (anything with a `:`) is sent as given. A code is looked up
//! once per provider instance in `GET /assets` and must match exactly one asset there;
//! an unknown or ambiguous code (two issuers of `BTC`) is refused before sending, with the
//! candidates named so the workflow can give the full id.

use serde_json::Value;

use crate::providers::error::ProviderError;
use crate::providers::fields::With;

/// The account's assets, as `GET /assets` lists them.
#[derive(Debug, Clone, Default)]
pub(super) struct AssetCatalog {
    assets: Vec<(String, String)>,
}

impl AssetCatalog {
    /// Reads a `GET /assets` answer; `None` when it has no `assets` list.
    pub(super) fn from_answer(answer: &Value) -> Option<Self> {
        let assets = answer
            .get("assets")?
            .as_array()?
            .iter()
            .filter_map(|a| {
                let id = a.get("id")?.as_str()?.to_string();
                let code = a
                    .get("assetCode")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| id.split(':').next().map(str::to_string))?;
                Some((code, id))
            })
            .collect();
        Some(AssetCatalog { assets })
    }
}

/// Resolves asset fields: from a catalog when executing, as given in a preview.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resolver<'a> {
    catalog: Option<&'a AssetCatalog>,
}

impl<'a> Resolver<'a> {
    /// Sends codes as given (a preview has no catalog, and reads none).
    pub(super) fn as_given() -> Self {
        Resolver { catalog: None }
    }

    /// Resolves codes with `catalog`.
    pub(super) fn with(catalog: &'a AssetCatalog) -> Self {
        Resolver {
            catalog: Some(catalog),
        }
    }

    /// Whether `value` is a code that needs the catalog.
    pub(super) fn needs_catalog(value: &str) -> bool {
        !value.contains(':')
    }

    /// The asset id for the `field` value `value`.
    ///
    /// # Errors
    /// [`ProviderError::Invalid`] for a code the catalog does not have, or has twice.
    pub(super) fn resolve(
        &self,
        w: &With<'_>,
        field: &str,
        value: &str,
    ) -> Result<String, ProviderError> {
        if !Self::needs_catalog(value) {
            return Ok(value.to_string());
        }
        let Some(catalog) = self.catalog else {
            return Ok(value.to_string());
        };
        let matches: Vec<&str> = catalog
            .assets
            .iter()
            .filter(|(code, _)| code.eq_ignore_ascii_case(value))
            .map(|(_, id)| id.as_str())
            .collect();
        match matches.as_slice() {
            [id] => Ok((*id).to_string()),
            [] => Err(w.invalid(format!(
                "`{field}`: `{value}` is not an asset of this account (GET /assets); give a \
                 full asset id such as `USDC:GA5Z…`"
            ))),
            many => Err(w.invalid(format!(
                "`{field}`: `{value}` names several assets ({}); give the full asset id",
                many.iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The preview note for a code resolved only when the step runs.
    pub(super) fn note(&self, field: &str, value: &str) -> Option<String> {
        (self.catalog.is_none() && Self::needs_catalog(value)).then(|| {
            format!("`{field}` `{value}` is replaced by its full asset id from GET /assets when the step runs")
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::providers::{Call, IdempotencyKey};

    #[test]
    fn codes_resolve_to_exactly_one_asset() {
        let catalog = AssetCatalog::from_answer(&json!({"assets": [
            {"id": "USDC:GA5Z", "assetCode": "USDC"},
            {"id": "BTC:GCQV", "assetCode": "BTC"},
            {"id": "BTC:GBSY", "assetCode": "BTC"},
            {"id": "XLM:NATIVE", "assetCode": "XLM"}
        ]}))
        .unwrap();
        let map = Map::new();
        let key = IdempotencyKey::new("k").unwrap();
        let call = Call {
            action: "swap",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("ws", &call);
        let r = Resolver::with(&catalog);
        assert_eq!(r.resolve(&w, "source_asset", "usdc").unwrap(), "USDC:GA5Z");
        assert_eq!(
            r.resolve(&w, "source_asset", "EURC:GDHU").unwrap(),
            "EURC:GDHU"
        );
        let err = r
            .resolve(&w, "source_asset", "BTC")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`BTC:GCQV`, `BTC:GBSY`"), "{err}");
        assert!(r.resolve(&w, "source_asset", "DOGE").is_err());
        assert_eq!(r.note("source_asset", "USDC"), None);
        let p = Resolver::as_given();
        assert_eq!(p.resolve(&w, "source_asset", "USDC").unwrap(), "USDC");
        assert!(p.note("source_asset", "USDC").is_some());
        assert!(p.note("source_asset", "XLM:NATIVE").is_none());
    }
}
