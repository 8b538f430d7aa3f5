//! WHITESTONES webhook bodies. The seed names the events (`payment.succeeded`,
//! `payment.failed`, `payment.processing`, `payout.created`, `payout.completed`,
//! `payout.failed`) but not their shape; the sandbox sends
//! `{"id": "evt_…", "type": …, "created": <unix>, "data": {"object": {…}}}`, signed with
//! `X-WS-Signature` = hex HMAC-SHA256(api secret, raw body).

use serde_json::{Value, json};

use crate::catalog::ProviderKind;
use crate::sandbox::ids;
use crate::sandbox::state::{Ctx, World};

/// Queues event `kind` about `object`.
pub fn emit(world: &mut World, cx: &Ctx<'_>, kind: &str, object_id: &str, object: Value) {
    let body = json!({
        "id": ids::prefixed("evt_", 24),
        "type": kind,
        "created": cx.now.timestamp(),
        "data": { "object": object },
    });
    world.emit(ProviderKind::Whitestones, kind, object_id, None, &body);
}
