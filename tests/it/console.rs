//! The operator console: HTTP-level tests of every page and decision, and one end-to-end test
//! in a real headless browser.

mod browser;
mod cli;
mod http;
mod notifications;
mod resume;
mod schedules;
mod support;
