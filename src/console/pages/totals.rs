//! Amounts by state and asset, as the store sums them exactly from the stored requests:
//! shown for the runs listed, a run, and a step's items.

use maud::{Markup, html};

use super::super::layout::badge;
use crate::store::AssetTotal;

/// A table of `totals`, or a line saying there is none.
pub fn table(totals: &[AssetTotal]) -> Markup {
    html! {
        @if totals.is_empty() {
            p class="quiet" { "No amounts sent or asked for yet." }
        } @else {
            table class="totals" {
                thead { tr { th { "State" } th { "Asset" } th { "Total" } th { "Rows" } } }
                tbody {
                    @for t in totals {
                        tr {
                            td { (badge(t.state.as_str())) }
                            td { (t.asset) }
                            td class="amount" { (t.total) }
                            td { (t.count) }
                        }
                    }
                }
            }
        }
    }
}
