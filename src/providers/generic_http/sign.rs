//! The credential headers of an `http` block: bearer, basic, an HMAC of the request, and
//! the headers read from the environment. Built just before sending, marked sensitive, and
//! never part of a [`WireRequest`] (a preview lists them as `***`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use super::config::Config;
use crate::providers::http::Transport;
use crate::providers::{ProviderError, WireRequest};
use crate::signing::hmac_sha256;
use crate::spec::env::HttpAuth;
use crate::spec::{HmacEncoding, HmacOver};

/// The credential headers for `wire`.
///
/// # Errors
/// [`ProviderError::Config`] for a header name or value that cannot be sent.
pub(super) fn headers(
    config: &Config,
    transport: &Transport,
    wire: &WireRequest,
) -> Result<HeaderMap, ProviderError> {
    let bad = |what: &str| ProviderError::Config {
        provider: transport.provider().to_string(),
        reason: format!("{what} cannot be sent in a header"),
    };
    let mut headers = HeaderMap::new();
    let mut put = |name: &str, value: String, what: &str| {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(what))?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| bad(what))?;
        value.set_sensitive(true);
        headers.insert(name, value);
        Ok::<_, ProviderError>(())
    };
    match &config.auth {
        None => {}
        Some(HttpAuth::Bearer(token)) => put(
            AUTHORIZATION.as_str(),
            format!("Bearer {}", token.expose()),
            "`auth.bearer`",
        )?,
        Some(HttpAuth::Basic { user, password }) => {
            let pair = format!("{user}:{}", password.expose());
            let value = format!("Basic {}", STANDARD.encode(pair));
            put(AUTHORIZATION.as_str(), value, "`auth.basic`")?;
        }
        Some(HttpAuth::Hmac {
            secret,
            header,
            over,
            encoding,
        }) => {
            let message = signed_bytes(transport, wire, *over)?;
            let mac = hmac_sha256(secret.expose().as_bytes(), &message);
            let value = match encoding {
                HmacEncoding::Hex => hex::encode(mac),
                HmacEncoding::Base64 => STANDARD.encode(mac),
            };
            put(header, value, "`auth.hmac.header`")?;
        }
    }
    for (name, value) in &config.secret_headers {
        put(
            name,
            value.expose().to_string(),
            &format!("header `{name}`"),
        )?;
    }
    Ok(headers)
}

/// What an HMAC signs: the body as sent, or the method, path, query and body.
fn signed_bytes(
    transport: &Transport,
    wire: &WireRequest,
    over: HmacOver,
) -> Result<Vec<u8>, ProviderError> {
    let body = wire.body.as_deref().unwrap_or_default();
    Ok(match over {
        HmacOver::Body => body.as_bytes().to_vec(),
        HmacOver::MethodPathBody => {
            let url = transport.url(wire)?;
            let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
            format!("{}{}{query}{body}", wire.method, url.path()).into_bytes()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::http::test_transport;
    use crate::spec::Secret;

    fn config(auth: HttpAuth) -> Config {
        Config {
            auth: Some(auth),
            headers: Vec::new(),
            secret_headers: vec![("X-Api-Key".into(), Secret::new("k-123"))],
            idempotency_header: None,
            has_base_url: true,
        }
    }

    #[test]
    fn each_scheme_signs_as_documented() {
        let t = test_transport("erp");
        let wire = WireRequest::new("POST", "/transfer")
            .query("dry", "false")
            .json(&serde_json::json!({"ref": "A1"}));
        let h = headers(&config(HttpAuth::Bearer(Secret::new("tok"))), &t, &wire).unwrap();
        assert_eq!(h["authorization"], "Bearer tok");
        assert!(h["authorization"].is_sensitive());
        assert_eq!(h["x-api-key"], "k-123");
        let basic = HttpAuth::Basic {
            user: "u".into(),
            password: Secret::new("p"),
        };
        // printf 'u:p' | base64
        assert_eq!(
            headers(&config(basic), &t, &wire).unwrap()["authorization"],
            "Basic dTpw"
        );
        let hmac = |over, encoding| HttpAuth::Hmac {
            secret: Secret::new("s3cret"),
            header: "X-Signature".into(),
            over,
            encoding,
        };
        // printf '{"ref":"A1"}' | openssl dgst -sha256 -hmac s3cret
        let h = headers(&config(hmac(HmacOver::Body, HmacEncoding::Hex)), &t, &wire).unwrap();
        assert_eq!(
            h["x-signature"],
            "93f5176a1a2ad638522e1658f7b7deb197e77d7d0da0064af4d0783abbc4d157"
        );
        let h = headers(
            &config(hmac(HmacOver::MethodPathBody, HmacEncoding::Base64)),
            &t,
            &wire,
        )
        .unwrap();
        // printf 'POST/transfer?dry=false{"ref":"A1"}' | openssl dgst -sha256 -hmac s3cret -binary | base64
        assert_eq!(
            h["x-signature"],
            "gis8N9KUCuYHYbQDMP51U5MDCZYHY994Nj3y3WRhbwg="
        );
    }
}
