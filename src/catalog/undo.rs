//! Which writes a provider lets a workflow undo, and with which action: what `validate` checks
//! a `compensate:` against and what the README's compensation table says. A write absent here
//! cannot be undone through that provider's API (a payout that left, a Whalestack checkout,
//! whose refunds only its dashboard issues).

use super::kind::ProviderKind;

/// One undoable write: at providers of `kind`, `action` is undone by `undo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undo {
    /// The provider kind.
    pub kind: ProviderKind,
    /// The write.
    pub action: &'static str,
    /// The action that undoes it.
    pub undo: &'static str,
}

/// Every undoable write the seeds' APIs allow.
pub const UNDOS: &[Undo] = &[
    // White Payments: a captured charge is refunded. An uncaptured one (`capture: false`) is
    // released by never capturing it (White lets it expire after 7 days); White refuses to
    // refund it, so its undo belongs on the capture.
    Undo {
        kind: ProviderKind::White,
        action: "charge.create",
        undo: "refund.create",
    },
    Undo {
        kind: ProviderKind::White,
        action: "charge.capture",
        undo: "refund.create",
    },
    // Whitepay and Whalestack: a conversion is undone by converting back.
    Undo {
        kind: ProviderKind::Whitepay,
        action: "swap",
        undo: "swap",
    },
    Undo {
        kind: ProviderKind::Whalestack,
        action: "swap",
        undo: "swap",
    },
    // `kind: http`: whatever the API offers; the workflow says which request undoes it.
    Undo {
        kind: ProviderKind::Http,
        action: "http.request",
        undo: "http.request",
    },
];

/// The action that undoes `action` at a provider of `kind`, if it can be undone.
pub fn undo(kind: ProviderKind, action: &str) -> Option<&'static str> {
    UNDOS
        .iter()
        .find(|u| u.kind == kind && u.action == action)
        .map(|u| u.undo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoable_writes_name_an_action_their_provider_offers() {
        for u in UNDOS {
            assert!(super::super::offer(u.kind, u.action).is_some(), "{u:?}");
            assert!(super::super::offer(u.kind, u.undo).is_some(), "{u:?}");
        }
        assert_eq!(
            undo(ProviderKind::White, "charge.create"),
            Some("refund.create")
        );
        assert_eq!(undo(ProviderKind::Whitestones, "transfer"), None);
        assert_eq!(undo(ProviderKind::Whalestack, "transfer"), None);
    }
}
