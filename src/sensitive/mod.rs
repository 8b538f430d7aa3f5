//! Card data and personal data, found and masked: the one place that says what a card
//! number, a card verification code and an IBAN look like, and how they read once masked.
//!
//! [`mask_text`] works on any text (a form body, a JSON body, an error message),
//! [`mask_value`] on JSON; plans, stored requests, errors and kept answers pass through them.
//! The request digest is taken of the real request first, so a changed card still changes
//! it. [`FieldPaths`] redacts the fields of provider answers that carry personal data.
//!
//! A leaf: it depends on nothing in the crate, so every layer may use it.

mod card;
mod fields;
mod iban;
mod text;

pub use card::luhn;
pub use fields::{FieldPaths, REDACTED};
pub use text::{blank_text, card_paths, mask_digits, mask_map, mask_text, mask_value};
