//! ANSI styling for text output: on for a terminal without `NO_COLOR` (the caller decides),
//! off otherwise, so piped output and snapshots are plain. Meaning never depends on colour.

/// Whether to colour, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Plain text.
    pub const PLAIN: Style = Style { colour: false };

    /// Colours when `colour`.
    pub fn new(colour: bool) -> Self {
        Style { colour }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Headings.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Secondary text.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// What will run, added items.
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Warnings, changed items.
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Errors, removed items.
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Values known after apply.
    pub fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_is_plain_and_colour_resets() {
        assert_eq!(Style::PLAIN.red("x"), "x");
        assert_eq!(Style::new(true).red("x"), "\x1b[31mx\x1b[0m");
    }
}
