//! The frame of every page (navigation, who is signed in, the stylesheet and the one script)
//! and the small pieces pages share: a state badge, a time, a masked request, a form's
//! hidden CSRF field.
//!
//! Run statuses and step states are rendered from their names (`as_str`), so a status added
//! to the store shows without a change here; the stylesheet colours the names it knows.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::session::Session;

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The needs-attention inbox.
    Inbox,
    /// Runs, a run, its items.
    Runs,
    /// Schedule slots.
    Schedules,
    /// Webhook events.
    Events,
    /// The notifications outbox.
    Notifications,
    /// `serve` workers.
    Workers,
}

const NAV: [(Section, &str, &str); 6] = [
    (Section::Inbox, "/", "Needs attention"),
    (Section::Runs, "/runs", "Runs"),
    (Section::Schedules, "/schedules", "Schedules"),
    (Section::Events, "/events", "Webhook events"),
    (Section::Notifications, "/notifications", "Notifications"),
    (Section::Workers, "/workers", "Workers"),
];

/// What a page needs to know about who is looking.
pub struct Viewer<'a> {
    /// The signed-in user.
    pub session: &'a Session,
    /// Their CSRF token, for every form on the page.
    pub csrf: String,
    /// The teams the users file puts them in, comma-separated (may be empty).
    pub groups: String,
}

/// A whole page. `live` names what the page's live region follows (`/live?…`): the script
/// reloads the `main` element when the server says it changed.
pub fn page(viewer: &Viewer, section: Section, title: &str, live: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — sluice" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                header class="top" {
                    span class="brand" { "sluice" }
                    nav {
                        @for (s, href, label) in NAV {
                            a href=(href) class=[(s == section).then_some("current")] { (label) }
                        }
                    }
                    span class="who" {
                        (viewer.session.user) " · " (viewer.session.role)
                        @if !viewer.groups.is_empty() { " · " (viewer.groups) }
                        form method="post" action="/logout" class="inline" {
                            (csrf_field(viewer))
                            button type="submit" class="link" { "Sign out" }
                        }
                    }
                }
                main data-live=(live) {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden field every form carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// A status or state as a coloured badge, by its stored name.
pub fn badge(name: &str) -> Markup {
    html! { span class={ "badge state-" (name) } { (name) } }
}

/// A time as the store keeps it (UTC, to the second).
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

/// An optional time, or a dash.
pub fn maybe_time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { "—" },
    }
}

/// A stored request or output as indented JSON, with card numbers, verification codes and
/// IBANs masked once more (they were masked when stored; a display never trusts that).
pub fn json_block(value: &Value) -> Markup {
    let masked = crate::sensitive::mask_value(value);
    let text = serde_json::to_string_pretty(&masked).unwrap_or_default();
    html! { pre class="json" { (text) } }
}

/// `text` as one URL path segment (an item key may hold `/`, spaces, anything).
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_escape_everything_but_unreserved_bytes() {
        assert_eq!(segment("E003"), "E003");
        assert_eq!(segment("a/b c+é"), "a%2Fb%20c%2B%C3%A9");
    }
}
