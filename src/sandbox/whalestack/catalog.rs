//! Whalestack's static data: assets, networks, currencies, the account fields each network
//! uses, and the payment methods a checkout offers. Values follow the seed's examples.

use serde_json::{Value, json};

use crate::signing::sha256_hex;

/// A Stellar asset Whalestack holds.
#[derive(Debug)]
pub struct Asset {
    /// `CODE:ISSUER`.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Asset group (`USD` for USDC).
    pub group: &'static str,
    /// Networks it moves on.
    pub networks: &'static [&'static str],
    /// Issuer name, domain and address.
    pub issuer: (&'static str, &'static str, &'static str),
    /// Chart colour.
    pub color: &'static str,
    /// Bridged via an anchor.
    pub bridge: bool,
}

impl Asset {
    /// The asset code (`USDC`).
    pub fn code(&self) -> &'static str {
        self.id.split(':').next().unwrap_or(self.id)
    }
}

const WHALESTACK_ISSUER: (&str, &str, &str) = (
    "Whalestack LLC",
    "whalestack.com",
    "54 Jedności Street, 65-018 Zielona Góra, Poland",
);

/// Every asset, in a stable order.
pub const ASSETS: &[Asset] = &[
    Asset {
        id: "BTC:GCQVEST7KIWV3KOSNDDUJKEPZLBFWKM7DUS4TCLW2VNVPCBGTDRVTEIT",
        name: "Bitcoin",
        group: "BTC",
        networks: &["STELLAR", "BITCOIN"],
        issuer: WHALESTACK_ISSUER,
        color: "#f7931a",
        bridge: true,
    },
    Asset {
        id: "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
        name: "USD Coin",
        group: "USD",
        networks: &["STELLAR", "SWIFT", "SEPA", "ETHEREUM"],
        issuer: (
            "Centre",
            "centre.io",
            "Centre Consortium LLC, United States",
        ),
        color: "#2775ca",
        bridge: true,
    },
    Asset {
        id: "EURC:GDHU6WRG4IEQXM5NZ4BMPKOXHW76MZM4Y2IEMFDVXBSDP6SJY4ITNPP2",
        name: "Euro Coin",
        group: "EUR",
        networks: &["STELLAR", "SWIFT", "SEPA", "ETHEREUM"],
        issuer: (
            "Circle",
            "circle.com",
            "Circle Internet Financial, United States",
        ),
        color: "#2775ca",
        bridge: true,
    },
    Asset {
        id: "XLM:NATIVE",
        name: "Stellar Lumens",
        group: "XLM",
        networks: &["STELLAR"],
        issuer: (
            "SDF",
            "stellar.org",
            "Stellar Development Foundation, San Francisco, CA, United States",
        ),
        color: "#5894ca",
        bridge: false,
    },
    Asset {
        id: "LTC:GCQVEST7KIWV3KOSNDDUJKEPZLBFWKM7DUS4TCLW2VNVPCBGTDRVTEIT",
        name: "Litecoin",
        group: "LTC",
        networks: &["STELLAR", "LITECOIN"],
        issuer: WHALESTACK_ISSUER,
        color: "#345d9d",
        bridge: true,
    },
    Asset {
        id: "BTCLN:GDPKQ2TSNJOFSEE7XSUXPWRP27H6GFGLWD7JCHNEYYWQVGFA543EVBVT",
        name: "Bitcoin Lightning",
        group: "BTC",
        networks: &["STELLAR", "LIGHTNING"],
        issuer: WHALESTACK_ISSUER,
        color: "#f7931a",
        bridge: true,
    },
    Asset {
        id: "BRL:GDVKY2GU2DRXWTBEYJJWSFXIGBZV6AZNBVVSUHEPZI54LIS6BA7DVVSP",
        name: "Brazilian Real",
        group: "BRL",
        networks: &["STELLAR", "PIX"],
        issuer: ("Anclap", "anclap.com", "Anclap, Argentina"),
        color: "#009c3b",
        bridge: true,
    },
];

/// The asset with `id`, or with `id` as its code (`USDC`).
pub fn asset(id: &str) -> Option<&'static Asset> {
    ASSETS
        .iter()
        .find(|a| a.id == id)
        .or_else(|| ASSETS.iter().find(|a| a.code().eq_ignore_ascii_case(id)))
}

/// The full asset id for an asset id or code.
pub fn asset_id(id_or_code: &str) -> Option<&'static str> {
    asset(id_or_code).map(|a| a.id)
}

/// The asset with exactly this id (requests must use full ids, as the API does).
pub fn asset_exact(id: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.id == id)
}

/// A payment or settlement network.
#[derive(Debug)]
pub struct Network {
    /// `BITCOIN`, `SEPA`, …
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// `BLOCKCHAIN` or `BANK`.
    pub kind: &'static str,
    /// Icon path.
    pub image: &'static str,
    /// Usable for deposits and checkouts.
    pub deposits: bool,
    /// Usable as a transfer target.
    pub transfers: bool,
    /// Bridged via Stellar.
    pub bridged: bool,
    /// Assets available on it.
    pub assets: &'static [&'static str],
}

const USDC: &str = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
const EURC: &str = "EURC:GDHU6WRG4IEQXM5NZ4BMPKOXHW76MZM4Y2IEMFDVXBSDP6SJY4ITNPP2";
const BTC: &str = "BTC:GCQVEST7KIWV3KOSNDDUJKEPZLBFWKM7DUS4TCLW2VNVPCBGTDRVTEIT";
const LTC: &str = "LTC:GCQVEST7KIWV3KOSNDDUJKEPZLBFWKM7DUS4TCLW2VNVPCBGTDRVTEIT";
const BTCLN: &str = "BTCLN:GDPKQ2TSNJOFSEE7XSUXPWRP27H6GFGLWD7JCHNEYYWQVGFA543EVBVT";
const BRL: &str = "BRL:GDVKY2GU2DRXWTBEYJJWSFXIGBZV6AZNBVVSUHEPZI54LIS6BA7DVVSP";

/// Every network, in the seed's order.
pub const NETWORKS: &[Network] = &[
    Network {
        id: "BITCOIN",
        name: "Bitcoin",
        kind: "BLOCKCHAIN",
        image: "/images/icon-btc-88.png",
        deposits: true,
        transfers: true,
        bridged: true,
        assets: &[BTC],
    },
    Network {
        id: "SWIFT",
        name: "SWIFT",
        kind: "BANK",
        image: "/images/icon-swift-88.png",
        deposits: false,
        transfers: true,
        bridged: true,
        assets: &[USDC, EURC],
    },
    Network {
        id: "SEPA",
        name: "SEPA",
        kind: "BANK",
        image: "/images/icon-sepa-88.png",
        deposits: false,
        transfers: true,
        bridged: true,
        assets: &[USDC, EURC],
    },
    Network {
        id: "STELLAR",
        name: "Stellar",
        kind: "BLOCKCHAIN",
        image: "/images/icon-xlm-88.png",
        deposits: true,
        transfers: true,
        bridged: false,
        assets: &["XLM:NATIVE", USDC, BRL, BTCLN, BTC, LTC, EURC],
    },
    Network {
        id: "ETHEREUM",
        name: "Ethereum",
        kind: "BLOCKCHAIN",
        image: "/images/icon-eth-88.png",
        deposits: false,
        transfers: true,
        bridged: true,
        assets: &[USDC, EURC],
    },
    Network {
        id: "LITECOIN",
        name: "Litecoin",
        kind: "BLOCKCHAIN",
        image: "/images/icon-ltc-88.png",
        deposits: true,
        transfers: true,
        bridged: true,
        assets: &[LTC],
    },
    Network {
        id: "LIGHTNING",
        name: "Lightning",
        kind: "BLOCKCHAIN",
        image: "/images/icon-sat-88.png",
        deposits: true,
        transfers: true,
        bridged: true,
        assets: &[BTCLN],
    },
    Network {
        id: "PIX",
        name: "Brazilian PIX",
        kind: "BANK",
        image: "/images/icon-brl-88.png",
        deposits: false,
        transfers: true,
        bridged: true,
        assets: &[BRL],
    },
];

/// The network with `id`.
pub fn network(id: &str) -> Option<&'static Network> {
    NETWORKS.iter().find(|n| n.id == id)
}

/// Billing currencies: code, name, type, and whether it can settle and be paid in.
pub const CURRENCIES: &[(&str, &str, &str, bool, bool)] = &[
    ("BTC", "Bitcoin", "CRYPTO", true, true),
    ("USD", "US Dollar", "FIAT", true, false),
    ("EUR", "Euro", "FIAT", true, false),
    ("GBP", "British Pound", "FIAT", false, false),
    ("CHF", "Swiss Franc", "FIAT", false, false),
    ("AED", "Emirati Dirham", "FIAT", false, false),
    ("BRL", "Brazilian Real", "FIAT", true, false),
    ("LTC", "Litecoin", "CRYPTO", true, true),
    ("XLM", "Stellar Lumens", "CRYPTO", true, true),
];

/// Whether `code` can be a checkout's billing currency.
pub fn billing_currency(code: &str) -> bool {
    CURRENCIES.iter().any(|c| c.0 == code)
}

/// A payment method a checkout offers: asset code shown, blockchain name, network, asset,
/// and the decimals of the payment amount.
#[derive(Debug)]
pub struct Method {
    /// Code shown to the customer (`SAT`, `USD`, `BTC`).
    pub code: &'static str,
    /// Blockchain name.
    pub blockchain: &'static str,
    /// Network id.
    pub network: &'static str,
    /// The related Stellar asset.
    pub asset: &'static str,
    /// Decimals of the payment amount.
    pub dp: u32,
}

/// The payment methods of every checkout.
pub const METHODS: &[Method] = &[
    Method {
        code: "SAT",
        blockchain: "Lightning",
        network: "LIGHTNING",
        asset: BTCLN,
        dp: 0,
    },
    Method {
        code: "XLM",
        blockchain: "Stellar",
        network: "STELLAR",
        asset: "XLM:NATIVE",
        dp: 7,
    },
    Method {
        code: "USD",
        blockchain: "Stellar",
        network: "STELLAR",
        asset: USDC,
        dp: 7,
    },
    Method {
        code: "EUR",
        blockchain: "Stellar",
        network: "STELLAR",
        asset: EURC,
        dp: 7,
    },
    Method {
        code: "BTC",
        blockchain: "Bitcoin",
        network: "BITCOIN",
        asset: BTC,
        dp: 7,
    },
    Method {
        code: "LTC",
        blockchain: "Litecoin",
        network: "LITECOIN",
        asset: LTC,
        dp: 7,
    },
];

/// The method for `network`, and `asset` when the network has several (its first otherwise).
pub fn method(network: &str, asset: Option<&str>) -> Option<&'static Method> {
    METHODS
        .iter()
        .filter(|m| m.network == network)
        .find(|m| asset.is_none_or(|a| m.asset == a))
}

/// The price-table code a method's payment amount is counted in.
pub fn method_unit(m: &Method) -> &'static str {
    if m.code == "SAT" { "SAT" } else { m.asset }
}

/// `(key, label, description, required)` of the fields of a target account on `network`.
pub fn account_fields(
    network: &str,
) -> &'static [(&'static str, &'static str, &'static str, bool)] {
    const BIC: (&str, &str, &str, bool) = (
        "bic",
        "SWIFT/BIC",
        "The 8-11 character SWIFT or BIC code identifying your bank or financial institution.",
        true,
    );
    const BANK_NAME: (&str, &str, &str, bool) =
        ("bankName", "Bank Name", "The beneficiary bank name.", true);
    const BANK_ADDRESS: (&str, &str, &str, bool) = (
        "bankAddress",
        "Bank Address",
        "The beneficiary bank address.",
        true,
    );
    match network {
        "BITCOIN" => &[(
            "address",
            "Bitcoin Address",
            "The Bitcoin address. Can be in any format, i.e. native SegWit (bech32), SegWit (P2SH), or legacy (P2PKH).",
            true,
        )],
        "LITECOIN" => &[(
            "address",
            "Litecoin Address",
            "The Litecoin address. Can be in any format, i.e. native SegWit (bech32), SegWit (P2SH), or legacy (P2PKH).",
            true,
        )],
        "ETHEREUM" => &[(
            "account",
            "Ethereum Account",
            "An account on the Ethereum network. Starts with 0x.",
            true,
        )],
        "STELLAR" => &[
            (
                "account",
                "Stellar Account",
                "An account on the Stellar network. Starting with G.",
                true,
            ),
            (
                "memo",
                "Memo",
                "Identifies the recipient or purpose of the payment. Exchanges and wallets often require a memo.",
                false,
            ),
            (
                "memoType",
                "Memo Type",
                "The memo type, usually `text`.",
                false,
            ),
        ],
        "SWIFT" => &[
            (
                "account",
                "Bank Account Number",
                "The bank account number.",
                true,
            ),
            BIC,
            BANK_NAME,
            BANK_ADDRESS,
        ],
        "SEPA" => &[
            (
                "iban",
                "IBAN",
                "The international bank account number (IBAN).",
                true,
            ),
            BIC,
            BANK_NAME,
            BANK_ADDRESS,
        ],
        "PIX" => &[
            (
                "pixKey",
                "PIX Key",
                "The PIX key of the recipient's bank account: a phone number, CPF, email address or random key.",
                true,
            ),
            (
                "taxId",
                "Tax ID",
                "The recipient's tax id (CNPJ or CPF).",
                true,
            ),
        ],
        _ => &[],
    }
}

/// `fieldConfig` for target-account fields.
pub fn account_field_config(network: &str) -> Value {
    Value::Array(
        account_fields(network)
            .iter()
            .map(|(key, label, description, _)| {
                json!({"key": key, "label": label, "description": description})
            })
            .collect(),
    )
}

/// A deposit address of `network` for `asset`, as `GET /wallets` and
/// `POST /deposit-address` show it: `fields`, `fieldConfig`, `minAmount`, `maxAmount`.
/// `seed` makes the generated values differ per asset and request.
pub fn deposit_address(
    network: &str,
    asset: &str,
    seed: &str,
    amount: Option<&str>,
) -> Option<Value> {
    let h = sha256_hex(&[
        network.as_bytes(),
        b"/",
        asset.as_bytes(),
        b"/",
        seed.as_bytes(),
    ]);
    let reference = format!(
        "EUR-BD-{}-{}",
        asset.split(':').next().unwrap_or(asset),
        &h[..12]
    );
    let field = |key: &str, label: &str, description: &str| json!({"key": key, "label": label, "description": description});
    let stellar_account = format!("GB{}", h[..54].to_ascii_uppercase());
    let (fields, config, min, max) = match network {
        "BITCOIN" => (
            json!({"address": format!("bc1q{}", &h[..38])}),
            vec![field(
                "address",
                "Bitcoin Address",
                "The Bitcoin address. Can be in any format, i.e. native SegWit (bech32), SegWit (P2SH), or legacy (P2PKH).",
            )],
            "0.0000100",
            "100.0000000",
        ),
        "LITECOIN" => (
            json!({"address": format!("ltc1q{}", &h[..38])}),
            vec![field(
                "address",
                "Litecoin Address",
                "The Litecoin address. Can be in any format, i.e. native SegWit (bech32), SegWit (P2SH), or legacy (P2PKH).",
            )],
            "0.0000100",
            "10000.0000000",
        ),
        "LIGHTNING" => (
            json!({"invoice": format!("lnbc{}n1p{}", amount.unwrap_or("0"), &h[..48]), "amount": amount.unwrap_or("0")}),
            vec![
                field(
                    "invoice",
                    "Lightning Invoice",
                    "A BOLT 11 Lightning invoice with encoded amount.",
                ),
                field("amount", "Invoice Amount", "The invoice amount in SAT."),
            ],
            "4000.0000000",
            "2498545.0000000",
        ),
        "STELLAR" => (
            json!({"asset": asset, "account": stellar_account, "memo": format!("sd{}", &h[52..64]), "memoType": "text"}),
            vec![
                field(
                    "asset",
                    "Stellar Asset",
                    "The deposit asset identifier on the Stellar network. Consists of asset code and Stellar account.",
                ),
                field(
                    "account",
                    "Stellar Account",
                    "The deposit account on the Stellar network. Starting with G.",
                ),
                field(
                    "memo",
                    "Memo",
                    "The mandatory memo to be included in the transaction. Do not omit this or your deposit will be delayed.",
                ),
                field(
                    "memoType",
                    "Memo Type",
                    "The mandatory memo type to be included in the transaction.",
                ),
            ],
            "0.0000001",
            "1000000",
        ),
        "SWIFT" => (
            json!({
                "reference": reference,
                "beneficiary": "Whalestack Sp. z o.o.",
                "account": "LT293550020000022181",
                "swiftCode": "UAPELT22XXX",
                "bankName": "UAB Pervesk",
                "bankAddress": "Gedimino pr. 5-3, LT-01103 Vilnius, Lithuania",
                "correspondentBankSwift": "INCOCHZZXXX",
                "correspondentBankName": "INCORE BANK AG",
                "correspondentBankAddress": "Wiesenstrasse 17, Schlieren, Switzerland"
            }),
            vec![
                field(
                    "reference",
                    "Payment Reference",
                    "Add this reference to your SWIFT deposit. It is needed to map the deposit to your merchant account. Do not omit this or your deposit will be delayed.",
                ),
                field(
                    "beneficiary",
                    "Beneficiary",
                    "The beneficiary account name.",
                ),
                field("account", "Bank Account Number", "The bank account number."),
                field(
                    "swiftCode",
                    "SWIFT/BIC",
                    "The 8-11 character SWIFT or BIC code identifying your bank or financial institution.",
                ),
                field("bankName", "Bank Name", "The beneficiary bank name."),
                field(
                    "bankAddress",
                    "Bank Address",
                    "The beneficiary bank address.",
                ),
                field(
                    "correspondentBankSwift",
                    "Correspondent Bank SWIFT/BIC",
                    "Provide this SWIFT/BIC code if your bank asks you for an intermediary or correspondent bank.",
                ),
                field(
                    "correspondentBankName",
                    "Correspondent Bank Name",
                    "The correspondent bank name. Provide this if your bank asks you for an intermediary or correspondent bank.",
                ),
                field(
                    "correspondentBankAddress",
                    "Correspondent Bank Address",
                    "The correspondent bank address.",
                ),
            ],
            "250",
            "1000000",
        ),
        "SEPA" => (
            json!({
                "reference": reference,
                "beneficiary": "Whalestack Sp. z o.o.",
                "iban": "LT293550020000022181",
                "swiftCode": "UAPELT22XXX",
                "bankName": "UAB Pervesk",
                "bankAddress": "Gedimino pr. 5-3, LT-01103 Vilnius, Lithuania"
            }),
            vec![
                field(
                    "reference",
                    "Payment Reference",
                    "Add this reference to your SEPA deposit. It is needed to map the deposit to your merchant account. Do not omit this or your deposit will be delayed.",
                ),
                field(
                    "beneficiary",
                    "Beneficiary",
                    "The beneficiary account name.",
                ),
                field(
                    "iban",
                    "IBAN",
                    "The international bank account number (IBAN).",
                ),
                field(
                    "swiftCode",
                    "SWIFT/BIC",
                    "The 8-11 character SWIFT or BIC code identifying your bank or financial institution.",
                ),
                field("bankName", "Bank Name", "The beneficiary bank name."),
                field(
                    "bankAddress",
                    "Bank Address",
                    "The beneficiary bank address.",
                ),
            ],
            "100",
            "1000000",
        ),
        _ => return None,
    };
    Some(json!({"fields": fields, "fieldConfig": config, "minAmount": min, "maxAmount": max}))
}

/// The JSON of `GET /assets`.
pub fn assets_json() -> Value {
    let assets: Vec<Value> = ASSETS
        .iter()
        .map(|a| {
            let issuer = a.id.split(':').nth(1).unwrap_or("NATIVE");
            json!({
                "id": a.id,
                "assetCode": a.code(),
                "assetIssuer": issuer,
                "name": a.name,
                "group": a.group,
                "groupImageSrc": format!("/images/icon-{}-88.png", a.group.to_ascii_lowercase()),
                "issuerName": a.issuer.0,
                "issuerDomain": a.issuer.1,
                "issuerAddress": a.issuer.2,
                "imageSrc": format!("/images/icon-{}-88.png", a.code().to_ascii_lowercase()),
                "checkouts": true,
                "deposits": true,
                "settlement": true,
                "swaps": true,
                "transfers": true,
                "hexColor": a.color,
                "riskLevel": "LOW",
                "bridge": a.bridge,
                "networks": a.networks,
            })
        })
        .collect();
    json!({ "assets": assets })
}

/// The JSON of `GET /networks`.
pub fn networks_json() -> Value {
    let networks: Vec<Value> = NETWORKS
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "name": n.name,
                "type": n.kind,
                "imageSrc": n.image,
                "deposits": n.deposits,
                "transfers": n.transfers,
                "bridged": n.bridged,
                "assets": n.assets,
            })
        })
        .collect();
    json!({ "networks": networks })
}

/// The JSON of `GET /currencies`.
pub fn currencies_json() -> Value {
    let currencies: Vec<Value> = CURRENCIES
        .iter()
        .map(|(code, name, kind, settlement, payment)| {
            json!({
                "assetCode": code,
                "name": name,
                "type": kind,
                "billing": true,
                "settlement": settlement,
                "payment": payment,
            })
        })
        .collect();
    json!({ "currencies": currencies })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_consistent() {
        for n in NETWORKS {
            for a in n.assets {
                let asset = asset_exact(a).unwrap_or_else(|| panic!("{a} of {} is listed", n.id));
                assert!(
                    asset.networks.contains(&n.id) || n.id == "STELLAR",
                    "{a} on {}",
                    n.id
                );
            }
        }
        for m in METHODS {
            assert!(asset_exact(m.asset).is_some());
            assert!(network(m.network).is_some());
        }
        assert_eq!(asset_id("usdc"), Some(USDC));
        assert_eq!(method("STELLAR", Some(EURC)).unwrap().code, "EUR");
        assert_eq!(method("STELLAR", None).unwrap().code, "XLM");
        assert!(deposit_address("BITCOIN", BTC, "x", None).is_some());
        assert!(deposit_address("PIX", BRL, "x", None).is_none());
        assert_eq!(account_fields("SEPA").len(), 4);
    }
}
