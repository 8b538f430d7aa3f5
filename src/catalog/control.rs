//! sluice's own actions: the control actions, which run inside sluice, and
//! `webhook.await`, which every provider offers the same way because the engine runs it.

use super::action::{self, ActionSpec};
use super::field::{Field, FieldType::*};
use super::offer::{Extra, Offer};

const fn control(action: &'static ActionSpec, fields: &'static [Field]) -> Offer {
    Offer {
        action,
        fields,
        extra: Extra::Refused,
    }
}

/// The control actions, sorted by name.
pub const CONTROL: &[Offer] = &[
    control(
        &action::APPROVAL,
        &[
            Field::optional("message", Text),
            Field::optional("min_approvals", Text),
            Field::optional("allow_self_approval", Boolean),
            Field::optional("approvers", List),
            Field::optional("when", Boolean),
            Field::optional("timeout", Duration),
            Field::optional("on_timeout", Text),
        ],
    ),
    control(
        &action::ASSERT,
        &[
            Field::required("that", Text),
            Field::optional("message", Text),
        ],
    ),
    control(
        &action::LOG,
        &[
            Field::required("message", Text),
            Field::optional("level", Text),
        ],
    ),
    control(&action::SLEEP, &[Field::required("duration", Duration)]),
];

/// `webhook.await`: the engine waits for the event (or polls the object), whichever
/// provider the step names; `extra` is accepted and has nothing to go into.
pub const WEBHOOK_AWAIT: Offer = Offer {
    action: &action::WEBHOOK_AWAIT,
    fields: &[
        Field::required("event", Text),
        Field::optional("match", Mapping),
        Field::optional("object", Text),
        Field::optional("id", Text),
        Field::optional("timeout", Duration),
        Field::optional("poll_every", Duration),
        Field::optional("on_timeout", Text),
    ],
    extra: Extra::Ignored,
};
