//! What happened to each payment of a run, and whether the provider agrees.
//!
//! A run's rows say what sluice did; finance needs the payments. [`payment`] turns a run's
//! step rows into one [`Payment`] per item that moved (or was to move) money, with its state
//! as finance reads it (committed, settled, failed, …); [`totals`] sums them per asset and
//! state in exact decimals; [`reconcile`] reads each payment back from its provider, and the
//! provider's listings for objects carrying a sluice marker, and names every disagreement;
//! [`cases`] keeps the disagreements `serve` finds as operator cases. Nothing here writes to
//! a provider.

pub mod cases;
pub mod payment;
pub mod read;
pub mod reconcile;
pub mod totals;
pub mod track;

pub use cases::{Recorded, record_findings};
pub use payment::{Payment, PaymentState, PaymentSteps, load, payments};
pub use reconcile::{Finding, Scope, Verdict, reconcile};
pub use totals::{Total, totals};
pub use track::{ConfirmError, Source, confirm, track};
