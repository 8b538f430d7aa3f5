//! Whalestack checkouts: self-hosted (`POST /checkout` then `POST /checkout/commit`) and
//! hosted (`POST /checkout/hosted`), read back with `GET /checkout` and `GET /checkouts`.
//!
//! States: a self-hosted checkout starts in PENDING_CHARGE (no payment method chosen yet) and
//! becomes NEW_CHARGE on commit; a hosted one starts in NEW_CHARGE (its customer chooses on
//! the page). A payment (`POST /__sandbox/checkouts/{id}/pay`, or auto-pay) moves it to
//! IN_PROGRESS; after the settle delay it becomes COMPLETED (the settlement, net of the fee,
//! is credited; CHECKOUT_COMPLETED) or UNRESOLVED_UNDERPAID (nothing credited;
//! CHECKOUT_UNDERPAID). A further payment covering the difference completes it;
//! `POST /__sandbox/checkouts/{id}/accept-underpaid` settles what was paid
//! (UNDERPAID_ACCEPTED). Unpaid checkouts become EXPIRED after 60 minutes; a late payment is
//! still credited, as the documents promise. Overpayment settles the required amount.
//!
//! Amounts: the charge total follows the seed's formula and is rounded to the billing
//! currency's precision (half away from zero); line amounts with more decimals than the
//! billing currency has are refused. Payment and settlement amounts come from the price table.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

use super::catalog::{self, METHODS, Method};
use super::error::WsError;
use super::input::{self, STELLAR_DP};
use crate::catalog::ProviderKind;
use crate::money::{check_scale, precision};
use crate::sandbox::format::{fixed, stellar, w3c};
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::prices::Round;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::sandbox::timers::Due;

/// Where a checkout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutState {
    /// Self-hosted, no payment method chosen yet.
    PendingCharge,
    /// Waiting for the customer's payment.
    NewCharge,
    /// A payment was seen and is settling.
    InProgress,
    /// Settled and credited.
    Completed,
    /// Unpaid after the payment window.
    Expired,
    /// Paid less than required; nothing credited.
    UnresolvedUnderpaid,
}

impl CheckoutState {
    fn as_str(self) -> &'static str {
        match self {
            CheckoutState::PendingCharge => "PENDING_CHARGE",
            CheckoutState::NewCharge => "NEW_CHARGE",
            CheckoutState::InProgress => "IN_PROGRESS",
            CheckoutState::Completed => "COMPLETED",
            CheckoutState::Expired => "EXPIRED",
            CheckoutState::UnresolvedUnderpaid => "UNRESOLVED_UNDERPAID",
        }
    }
}

/// The payment method chosen and what it settles to.
#[derive(Debug, Clone)]
struct Source {
    method: &'static Method,
    required: Decimal,
    quote: Quote,
    deposit_address: String,
    address: String,
    memo: Option<String>,
}

/// Settlement amounts for one payment method.
#[derive(Debug, Clone, Copy)]
struct Quote {
    payment: Decimal,
    asset: &'static str,
    gross: Decimal,
    fee: Decimal,
}

impl Quote {
    fn net(&self) -> Decimal {
        self.gross - self.fee
    }

    fn settlement_json(&self) -> Value {
        json!({
            "assetId": self.asset,
            "amount": self.gross.normalize().to_string(),
            "netAmount": self.net().normalize().to_string(),
            "fee": self.fee.normalize().to_string(),
        })
    }
}

/// One checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    id: String,
    created: DateTime<Utc>,
    hosted: bool,
    /// Where it stands.
    pub state: CheckoutState,
    payload: Value,
    billing: String,
    total: Decimal,
    settlement: Option<&'static str>,
    source: Option<Source>,
    received: Decimal,
    settled_net: Decimal,
    fee_paid: Decimal,
    txs: Vec<Value>,
    webhook: Option<String>,
    expires: DateTime<Utc>,
    url: String,
}

impl Checkout {
    /// The checkout as `GET /checkout` shows it.
    pub fn to_json(&self) -> Value {
        let source = self.source.as_ref();
        let settlement_asset = source
            .map(|s| s.quote.asset)
            .or(self.settlement)
            .unwrap_or("ORIGIN");
        json!({
            "id": self.id,
            "timestamp": w3c(self.created),
            "state": self.state.as_str(),
            "type": if self.hosted { "HOSTED" } else { "SELF-HOSTED" },
            "origin": "API",
            "settlementAssetId": settlement_asset,
            "settlementAmountRequired": source.map(|s| stellar(s.quote.gross)),
            "settlementAmountReceived": stellar(self.settled_net),
            "settlementAmountFeePaid": stellar(self.fee_paid),
            "sourceAssetId": source.map(|s| s.method.asset),
            "sourceAmountRequired": source.map(|s| fixed(s.required, s.method.dp)),
            "sourceAmountReceived": source.map(|s| fixed(self.received, s.method.dp)),
            "sourceNetwork": source.map(|s| s.method.network),
            "sourceNetworkName": source.and_then(|s| catalog::network(s.method.network)).map(|n| n.name),
            "depositAddress": source.map(|s| s.deposit_address.clone()),
            "blockchainTransactions": self.txs,
            "payload": self.payload,
            "hostedCheckoutUrl": self.hosted.then(|| self.url.clone()),
        })
    }

    fn reference(&self) -> Option<String> {
        self.payload.get("meta").map(Value::to_string)
    }
}

/// A charge's total in its billing currency, by the seed's formula.
fn charge_total(charge: &Map<String, Value>) -> Result<(String, Decimal), WsError> {
    let billing = input::opt_str(charge, "billingCurrency")?
        .or(input::opt_str(charge, "currency")?)
        .ok_or_else(|| WsError::bad_request("`charge.billingCurrency` is mandatory"))?
        .to_ascii_uppercase();
    if !catalog::billing_currency(&billing) {
        return Err(WsError::bad_request(format!(
            "`charge.billingCurrency`: `{billing}` is not a billing currency (see GET /currencies)"
        )));
    }
    let dp = precision(&billing).unwrap_or(STELLAR_DP);
    let items = |name: &str| -> Result<Vec<&Map<String, Value>>, WsError> {
        match charge.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_object().ok_or_else(|| {
                        WsError::bad_request(format!("`charge.{name}` items must be objects"))
                    })
                })
                .collect(),
            Some(_) => Err(WsError::bad_request(format!(
                "`charge.{name}` must be a list"
            ))),
        }
    };
    let money = |item: &Map<String, Value>, list: &str| -> Result<Decimal, WsError> {
        let amount = input::opt_amount(item, "netAmount")?.ok_or_else(|| {
            WsError::bad_request(format!("`charge.{list}[].netAmount` is mandatory"))
        })?;
        if amount.is_sign_negative() {
            return Err(WsError::bad_request(format!(
                "`charge.{list}[].netAmount` must not be negative"
            )));
        }
        check_scale(amount, &billing, dp)
            .map_err(|e| WsError::bad_request(format!("`charge.{list}[].netAmount`: {e}")))?;
        Ok(amount)
    };
    let lines = items("lineItems")?;
    if lines.is_empty() {
        return Err(WsError::bad_request(
            "`charge.lineItems` needs at least one item",
        ));
    }
    let mut net = Decimal::ZERO;
    for line in lines {
        let description = input::req_str(line, "description")?;
        if description.chars().count() > 200 {
            return Err(WsError::bad_request(
                "`charge.lineItems[].description` is longer than 200 characters",
            ));
        }
        let quantity = input::opt_amount(line, "quantity")?.unwrap_or(Decimal::ONE);
        if quantity <= Decimal::ZERO {
            return Err(WsError::bad_request(
                "`charge.lineItems[].quantity` must be positive",
            ));
        }
        net += money(line, "lineItems")? * quantity;
    }
    for discount in items("discountItems")? {
        net -= money(discount, "discountItems")?;
    }
    let (mut shipping, mut taxable_shipping) = (Decimal::ZERO, Decimal::ZERO);
    for item in items("shippingCostItems")? {
        let amount = money(item, "shippingCostItems")?;
        shipping += amount;
        if item
            .get("taxable")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            taxable_shipping += amount;
        }
    }
    net += shipping;
    let mut tax_rate = Decimal::ZERO;
    for tax in items("taxItems")? {
        tax_rate += input::opt_amount(tax, "percent")?
            .filter(|p| !p.is_sign_negative())
            .ok_or_else(|| {
                WsError::bad_request("`charge.taxItems[].percent` is mandatory and not negative")
            })?;
    }
    let taxable = net - shipping + taxable_shipping;
    let total = (net + taxable * tax_rate)
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    if total <= Decimal::ZERO {
        return Err(WsError::bad_request("the charge total must be positive"));
    }
    Ok((billing, total))
}

fn quote(
    cx: &Ctx<'_>,
    billing: &str,
    total: Decimal,
    method: &'static Method,
    settlement: Option<&'static str>,
) -> Option<Quote> {
    let payment = cx.prices.convert(
        total,
        billing,
        catalog::method_unit(method),
        method.dp,
        Round::Up,
    )?;
    let asset = settlement.unwrap_or(method.asset);
    let gross = cx
        .prices
        .convert(total, billing, asset, STELLAR_DP, Round::Down)?;
    let fee = (gross * cx.config.fees.checkout_percent / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(STELLAR_DP, RoundingStrategy::AwayFromZero);
    (payment > Decimal::ZERO && gross > fee).then_some(Quote {
        payment,
        asset,
        gross,
        fee,
    })
}

fn methods_json(cx: &Ctx<'_>, c: &Checkout) -> Vec<Value> {
    METHODS
        .iter()
        .filter_map(|m| {
            let q = quote(cx, &c.billing, c.total, m, c.settlement)?;
            Some(json!({
                "assetCode": m.code,
                "blockchain": m.blockchain,
                "network": m.network,
                "relatedAssetId": m.asset,
                "paymentAmount": fixed(q.payment, m.dp),
                "settlement": q.settlement_json(),
            }))
        })
        .collect()
}

/// Validates a create request and stores the checkout.
fn create(
    world: &mut World,
    cx: &Ctx<'_>,
    body: Map<String, Value>,
    hosted: bool,
) -> Result<Value, WsError> {
    let charge = body
        .get("charge")
        .and_then(Value::as_object)
        .ok_or_else(|| WsError::bad_request("`charge` object is mandatory"))?;
    let (billing, total) = charge_total(charge)?;
    if let Some(customer) = input::opt_str(charge, "customerId")?
        && !world.whalestack.customers.contains(customer)
    {
        return Err(WsError::bad_request(format!(
            "`charge.customerId`: customer `{customer}` not found"
        )));
    }
    let settlement = match input::opt_str(&body, "settlementAsset")? {
        None | Some("ORIGIN") => None,
        Some(_) => Some(input::asset(&body, "settlementAsset")?.id),
    };
    let id = ids::hex(12);
    let checkout = Checkout {
        url: format!("{}/whalestack/en/checkout?id={id}", cx.origin),
        id: id.clone(),
        created: cx.now,
        hosted,
        state: if hosted {
            CheckoutState::NewCharge
        } else {
            CheckoutState::PendingCharge
        },
        webhook: input::opt_str(&body, "webhook")?.map(str::to_string),
        payload: Value::Object(body),
        billing,
        total,
        settlement,
        source: None,
        received: Decimal::ZERO,
        settled_net: Decimal::ZERO,
        fee_paid: Decimal::ZERO,
        txs: Vec::new(),
        expires: cx.after(cx.config.delays.checkout_expiry),
    };
    let methods = methods_json(cx, &checkout);
    if methods.is_empty() {
        return Err(WsError::bad_request(
            "no payment method can settle this charge",
        ));
    }
    world
        .timers
        .schedule(checkout.expires, Due::CheckoutExpiry(id.clone()));
    if let Some(auto) = &cx.config.auto_pay {
        world
            .timers
            .schedule(cx.after(auto.after), Due::AutoPay(id.clone()));
    }
    let out = if hosted {
        json!({"id": id, "url": checkout.url, "oracle": methods})
    } else {
        json!({"id": id, "paymentMethods": methods})
    };
    world.whalestack.checkouts.insert(id, checkout);
    Ok(out)
}

/// Chooses the payment method of a checkout and assigns its deposit address.
fn choose(cx: &Ctx<'_>, c: &mut Checkout, method: &'static Method) -> Result<(), WsError> {
    let q = quote(cx, &c.billing, c.total, method, c.settlement).ok_or_else(|| {
        WsError::bad_request(format!("{} cannot settle this charge", method.network))
    })?;
    let fields = catalog::deposit_address(
        method.network,
        method.asset,
        &c.id,
        Some(&q.payment.to_string()),
    )
    .and_then(|d| d.get("fields").cloned())
    .unwrap_or_default();
    let text = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_string);
    let (address, memo, deposit_address) = match method.network {
        "STELLAR" => {
            let (account, memo) = (
                text("account").unwrap_or_default(),
                text("memo").unwrap_or_default(),
            );
            (
                account.clone(),
                Some(memo.clone()),
                format!("{memo}:text@{account}"),
            )
        }
        "LIGHTNING" => {
            let invoice = text("invoice").unwrap_or_default();
            (invoice.clone(), None, invoice)
        }
        _ => {
            let a = text("address").unwrap_or_default();
            (a.clone(), None, a)
        }
    };
    c.source = Some(Source {
        method,
        required: q.payment,
        quote: q,
        deposit_address,
        address,
        memo,
    });
    Ok(())
}

/// `POST /checkout`.
pub async fn create_self_hosted(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    shared
        .with_world(|world, cx| create(world, cx, body, false))
        .map(Json)
}

/// `POST /checkout/hosted`.
pub async fn create_hosted(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    shared
        .with_world(|world, cx| create(world, cx, body, true))
        .map(Json)
}

/// `POST /checkout/commit`.
pub async fn commit(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let id = input::req_str(&body, "checkoutId")?;
    let network = input::req_str(&body, "network")?;
    let asset = input::opt_str(&body, "asset")?;
    shared.with_world(|world, cx| {
        let c = world
            .whalestack
            .checkouts
            .get_mut(id)
            .ok_or_else(|| WsError::not_found("checkout", id))?;
        if c.hosted {
            return Err(WsError::bad_request(format!(
                "checkout `{id}` is hosted: its customer chooses the payment method on the checkout page"
            )));
        }
        if !matches!(c.state, CheckoutState::PendingCharge | CheckoutState::NewCharge) || !c.received.is_zero() {
            return Err(WsError::bad_request(format!(
                "checkout `{id}` is {} and can no longer be committed",
                c.state.as_str()
            )));
        }
        let method = catalog::method(network, asset).ok_or_else(|| {
            WsError::bad_request(format!("`{network}`{} is not a payment method of this checkout", asset.map(|a| format!(" with `{a}`")).unwrap_or_default()))
        })?;
        choose(cx, c, method)?;
        c.state = CheckoutState::NewCharge;
        c.expires = cx.after(cx.config.delays.checkout_expiry);
        world.timers.schedule(c.expires, Due::CheckoutExpiry(id.to_string()));
        let s = c.source.as_ref().expect("just chosen");
        Ok(Json(json!({
            "depositInstructions": {
                "assetCode": method.code,
                "blockchain": method.blockchain,
                "network": method.network,
                "amount": fixed(s.required, method.dp),
                "address": s.address,
                "memo": s.memo,
                "memoType": s.memo.as_ref().map(|_| "text"),
            },
            "settlement": s.quote.settlement_json(),
            "expirationTime": w3c(c.expires),
            "checkoutId": c.id,
        })))
    })
}

/// `GET /checkout?id=`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let id = input::query_id(&query)?;
    shared.with_world(|world, _| {
        let c = world
            .whalestack
            .checkouts
            .get(id)
            .ok_or_else(|| WsError::not_found("checkout", id))?;
        Ok(Json(json!({ "checkout": c.to_json() })))
    })
}

/// `GET /checkouts`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let (limit, offset) = input::page(&query)?;
    Ok(shared.with_world(|world, _| {
        let all = &world.whalestack.checkouts;
        let items: Vec<Value> = all.page(offset, limit).map(Checkout::to_json).collect();
        Json(json!({"count": all.len(), "limit": limit, "offset": offset, "checkouts": items}))
    }))
}

fn tx(
    cx: &Ctx<'_>,
    kind: &str,
    description: &str,
    network: &str,
    amount: String,
    code: &str,
) -> Value {
    json!({
        "type": kind,
        "typeDescription": description,
        "network": network,
        "networkName": catalog::network(network).map_or(network, |n| n.name),
        "timestamp": w3c(cx.now),
        "tx": ids::hex(64),
        "amount": amount,
        "amountAssetCode": code,
        "exception": null,
    })
}

fn emit(world: &mut World, event: &str, id: &str) {
    let Some(c) = world.whalestack.checkouts.get(id) else {
        return;
    };
    let body = json!({"eventType": event, "data": {"checkout": c.to_json()}});
    let url = c.webhook.clone();
    world.emit(ProviderKind::Whalestack, event, id, url, &body);
}

/// The method a payment that names none uses: the settlement asset on Stellar, or USDC
/// when the checkout settles in the asset paid (ORIGIN).
fn default_method(c: &Checkout) -> Option<&'static Method> {
    let asset = c
        .settlement
        .filter(|a| catalog::method("STELLAR", Some(a)).is_some())
        .or(catalog::asset_id("USDC"));
    catalog::method("STELLAR", asset)
}

/// The customer pays `amount` of the payment asset (the rest due when `None`). A checkout
/// without a chosen method is paid with `network`/`asset`, by default its settlement asset
/// on Stellar (USDC for ORIGIN).
pub fn pay(
    world: &mut World,
    cx: &Ctx<'_>,
    id: &str,
    amount: Option<Decimal>,
    network: Option<&str>,
    asset: Option<&str>,
) -> Result<Value, WsError> {
    let c = world
        .whalestack
        .checkouts
        .get_mut(id)
        .ok_or_else(|| WsError::not_found("checkout", id))?;
    if c.source.is_none() {
        let method = match (network, asset) {
            (Some(n), a) => catalog::method(n, a),
            (None, Some(a)) => catalog::method("STELLAR", Some(a)),
            (None, None) => default_method(c),
        }
        .ok_or_else(|| WsError::bad_request("no such payment method for this checkout"))?;
        choose(cx, c, method)?;
    }
    let source = c.source.as_ref().expect("chosen above");
    let method = source.method;
    let amount = amount.unwrap_or((source.required - c.received).max(Decimal::ZERO));
    if amount <= Decimal::ZERO {
        return Err(WsError::bad_request("the payment amount must be positive"));
    }
    check_scale(amount, method.code, method.dp).map_err(|e| WsError::bad_request(e.to_string()))?;
    let code = catalog::method_unit(method)
        .split(':')
        .next()
        .unwrap_or(method.code);
    let mut origin = tx(
        cx,
        "CHECKOUT_ORIGIN",
        "Blockchain payment transaction initiated by customer.",
        method.network,
        fixed(amount, method.dp),
        code,
    );
    if c.state == CheckoutState::Completed {
        origin["exception"] = json!("CHECKOUT_ALREADY_COMPLETED");
        c.txs.push(origin);
        return Ok(c.to_json());
    }
    c.txs.push(origin);
    if method.network != "STELLAR" {
        c.txs.push(tx(
            cx,
            "CHECKOUT_BRIDGE",
            "Fund transfer from native blockchain to Stellar Network.",
            "STELLAR",
            fixed(amount, method.dp),
            code,
        ));
    }
    c.received += amount;
    c.state = CheckoutState::InProgress;
    let out = c.to_json();
    world.timers.schedule(
        cx.after(cx.config.delays.checkout_settle),
        Due::CheckoutSettle(id.to_string()),
    );
    Ok(out)
}

/// Credits `gross` (minus the fee) and completes the checkout.
fn complete(world: &mut World, cx: &Ctx<'_>, id: &str, gross: Decimal, event: &str) {
    let Some(c) = world.whalestack.checkouts.get(id) else {
        return;
    };
    let Some(source) = c.source.as_ref() else {
        return;
    };
    let asset = source.quote.asset;
    let fee = (gross * cx.config.fees.checkout_percent / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(STELLAR_DP, RoundingStrategy::AwayFromZero)
        .min(gross);
    let net = gross - fee;
    let reference = c.reference();
    let posted = world.post(
        cx,
        Posting {
            provider: ProviderKind::Whalestack,
            kind: "checkout.settlement",
            object_id: id,
            asset,
            amount: net,
            idempotency_key: None,
            reference: reference.as_deref(),
        },
    );
    debug_assert!(posted.is_ok(), "a credit cannot be refused");
    let code = asset.split(':').next().unwrap_or(asset);
    let settlement_tx = tx(
        cx,
        "CHECKOUT_SETTLEMENT",
        "Stellar transaction crediting your Whalestack merchant account.",
        "STELLAR",
        stellar(net),
        code,
    );
    let c = world.whalestack.checkouts.get_mut(id).expect("read above");
    c.txs.push(settlement_tx);
    c.settled_net = net;
    c.fee_paid = fee;
    c.state = CheckoutState::Completed;
    emit(world, event, id);
}

/// Timer: a payment in progress settles, or is found short.
pub fn settle(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let Some(c) = world.whalestack.checkouts.get_mut(id) else {
        return;
    };
    if c.state != CheckoutState::InProgress {
        return;
    }
    let Some(source) = c.source.as_ref() else {
        return;
    };
    if c.received >= source.required {
        let gross = source.quote.gross;
        complete(world, cx, id, gross, "CHECKOUT_COMPLETED");
    } else {
        c.state = CheckoutState::UnresolvedUnderpaid;
        emit(world, "CHECKOUT_UNDERPAID", id);
    }
}

/// `POST /__sandbox/checkouts/{id}/accept-underpaid`: settle what an underpaid checkout got.
pub fn accept_underpaid(world: &mut World, cx: &Ctx<'_>, id: &str) -> Result<Value, WsError> {
    let c = world
        .whalestack
        .checkouts
        .get(id)
        .ok_or_else(|| WsError::not_found("checkout", id))?;
    let (CheckoutState::UnresolvedUnderpaid, Some(source)) = (c.state, c.source.as_ref()) else {
        return Err(WsError::bad_request(format!(
            "checkout `{id}` is {}, not UNRESOLVED_UNDERPAID",
            c.state.as_str()
        )));
    };
    let gross = (source.quote.gross * c.received / source.required)
        .round_dp_with_strategy(STELLAR_DP, RoundingStrategy::ToZero);
    complete(world, cx, id, gross, "UNDERPAID_ACCEPTED");
    Ok(world
        .whalestack
        .checkouts
        .get(id)
        .map(Checkout::to_json)
        .unwrap_or_default())
}

/// Timer: an unpaid checkout expires.
pub fn expire(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let Some(c) = world.whalestack.checkouts.get_mut(id) else {
        return;
    };
    let open = matches!(
        c.state,
        CheckoutState::PendingCharge | CheckoutState::NewCharge
    );
    if open && c.received.is_zero() && c.expires <= cx.now {
        c.state = CheckoutState::Expired;
    }
}

/// Auto-pay: pays `ratio` of what an open checkout requires.
pub fn auto_pay(world: &mut World, cx: &Ctx<'_>, id: &str, ratio: Decimal) {
    let Some(c) = world.whalestack.checkouts.get_mut(id) else {
        return;
    };
    if !matches!(
        c.state,
        CheckoutState::PendingCharge | CheckoutState::NewCharge
    ) || !c.received.is_zero()
    {
        return;
    }
    if c.source.is_none() {
        let Some(method) = default_method(c) else {
            return;
        };
        if choose(cx, c, method).is_err() {
            return;
        }
    }
    let Some(source) = c.source.as_ref() else {
        return;
    };
    let amount = (source.required * ratio)
        .round_dp_with_strategy(source.method.dp, RoundingStrategy::ToZero);
    if amount > Decimal::ZERO
        && let Err(error) = pay(world, cx, id, Some(amount), None, None)
    {
        tracing::warn!(checkout = id, error = ?error.errors, "Auto-pay failed.");
    }
}
