//! Strict handlebars rendering with exact decimal helpers.
