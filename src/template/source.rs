//! Byte positions inside a template's source text.
//!
//! The handlebars AST keeps no byte offsets for paths, and its errors speak in line and
//! column. This module owns the way back to byte offsets: it converts a (line, column)
//! pair and it maps where the `{{…}}` tags are, so that a path or helper name seen in the
//! AST can be found again in the text. What the AST means is left to [`super::ast`].

use std::ops::Range;

/// The byte offset of a 1-based (line, column) pair as handlebars (pest) reports it:
/// columns count characters, lines end at `\n` or `\r\n`. A position past the end maps to
/// the end of the text.
pub(crate) fn offset_of(source: &str, line: usize, column: usize) -> usize {
    let (mut at_line, mut at_column) = (1, 1);
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if at_line == line && at_column == column {
            return i;
        }
        match c {
            '\r' if matches!(chars.peek(), Some((_, '\n'))) => {
                chars.next();
                (at_line, at_column) = (at_line + 1, 1);
            }
            '\n' => (at_line, at_column) = (at_line + 1, 1),
            _ => at_column += 1,
        }
    }
    source.len()
}

/// Where the tags of a template are: one span per `{{…}}` the AST knows as an element or
/// a block boundary (comments are left out), and which bytes are code rather than text
/// or quoted literals.
pub(crate) struct TagMap<'a> {
    source: &'a str,
    tags: Vec<Range<usize>>,
    code: Vec<bool>,
}

impl<'a> TagMap<'a> {
    /// Scans `source` for tags. The scan never fails: on text handlebars would refuse it
    /// simply finds fewer tags, and offsets degrade to the start of the nearest tag.
    pub(crate) fn scan(source: &'a str) -> Self {
        let bytes = source.as_bytes();
        let mut map = TagMap {
            source,
            tags: Vec::new(),
            code: vec![false; bytes.len()],
        };
        let mut i = 0;
        while i + 1 < bytes.len() {
            if !source[i..].starts_with("{{") {
                i += 1;
                continue;
            }
            if escaped(bytes, i) {
                i += 2;
                continue;
            }
            let rest = &source[i..];
            if rest.starts_with("{{!--") {
                i = find_from(source, i + 5, "--}}").map_or(bytes.len(), |end| end + 4);
            } else if rest.starts_with("{{!") {
                i = find_from(source, i + 3, "}}").map_or(bytes.len(), |end| end + 2);
            } else if rest.starts_with("{{{{") {
                let end = map.mark_tag(i, i + 4, "}}}}");
                let closing = rest.starts_with("{{{{/");
                // A raw block's body is text even when it looks like tags.
                i = if closing {
                    end
                } else {
                    find_from(source, end, "{{{{/").unwrap_or(bytes.len())
                };
            } else {
                let close = if rest.starts_with("{{{") { "}}}" } else { "}}" };
                i = map.mark_tag(i, i + 2, close);
            }
        }
        map
    }

    /// Records the tag opened at `start` whose code begins at `code_start`, up to `close`
    /// outside quotes; returns the end of the tag.
    fn mark_tag(&mut self, start: usize, code_start: usize, close: &str) -> usize {
        let bytes = self.source.as_bytes();
        let mut quote = None;
        let mut j = code_start;
        while j < bytes.len() {
            let b = bytes[j];
            match quote {
                Some(q) => {
                    if b == b'\\' {
                        j += 2;
                        continue;
                    }
                    if b == q {
                        quote = None;
                    }
                }
                None if b == b'\'' || b == b'"' => quote = Some(b),
                None if self.source[j..].starts_with(close) => break,
                None => self.code[j] = true,
            }
            j += 1;
        }
        let end = (j + close.len()).min(bytes.len());
        self.tags.push(start..end);
        end
    }

    /// The span of the `index`-th tag, if there is one.
    pub(crate) fn tag(&self, index: usize) -> Option<Range<usize>> {
        self.tags.get(index).cloned()
    }

    /// The first occurrence of `needle` inside `span` that is code, stands alone (is not
    /// part of a longer path, a hash key or a block parameter list) and is not in
    /// `claimed`.
    pub(crate) fn find(
        &self,
        span: &Range<usize>,
        needle: &str,
        claimed: &[usize],
    ) -> Option<usize> {
        if needle.is_empty() {
            return None;
        }
        let bytes = self.source.as_bytes();
        let text = self.source.get(span.clone())?;
        text.match_indices(needle)
            .map(|(at, _)| span.start + at)
            .find(|&at| {
                let end = at + needle.len();
                let before_ok = at == 0 || !(is_path_byte(bytes[at - 1]) || bytes[at - 1] == b'|');
                let after_ok = end >= bytes.len()
                    || !(is_path_byte(bytes[end]) || matches!(bytes[end], b'=' | b'|'));
                before_ok
                    && after_ok
                    && self.code[at..end].iter().all(|c| *c)
                    && !claimed.contains(&at)
            })
    }
}

/// A `{{` preceded by exactly one backslash is literal text.
fn escaped(bytes: &[u8], at: usize) -> bool {
    let backslashes = bytes[..at]
        .iter()
        .rev()
        .take_while(|b| **b == b'\\')
        .count();
    backslashes == 1
}

fn find_from(source: &str, from: usize, needle: &str) -> Option<usize> {
    source.get(from..)?.find(needle).map(|at| from + at)
}

/// Bytes that can continue a handlebars path (`symbol_char`, separators, brackets, `@`).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || b"-_$:./@[]".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_convert_to_bytes() {
        let text = "ab\ncé{{x\r\n  y";
        assert_eq!(offset_of(text, 1, 1), 0);
        assert_eq!(offset_of(text, 2, 1), 3);
        // `é` is one column but two bytes.
        assert_eq!(offset_of(text, 2, 3), 6);
        assert_eq!(offset_of(text, 3, 3), text.len() - 1);
        assert_eq!(offset_of(text, 9, 9), text.len());
    }

    #[test]
    fn tags_skip_comments_escapes_and_quotes() {
        let text = r#"a {{x 'y}}' b}} \{{no}} {{!-- {{c}} --}} {{! z}}{{{w}}}{{{{raw}}}}{{q}}{{{{/raw}}}}"#;
        let map = TagMap::scan(text);
        let spans: Vec<&str> = (0..).map_while(|i| map.tag(i)).map(|r| &text[r]).collect();
        assert_eq!(
            spans,
            ["{{x 'y}}' b}}", "{{{w}}}", "{{{{raw}}}}", "{{{{/raw}}}}"]
        );
        let first = map.tag(0).unwrap();
        assert_eq!(map.find(&first, "x", &[]), Some(4));
        // `y` only occurs inside a quoted literal, `b` after it is code.
        assert_eq!(map.find(&first, "y", &[]), None);
        assert_eq!(
            map.find(&first, "b", &[]),
            Some(text.find(" b}}").unwrap() + 1)
        );
    }

    #[test]
    fn find_respects_boundaries_and_claims() {
        let text = "{{add a.b a k=a as |a|}}";
        let map = TagMap::scan(text);
        let tag = map.tag(0).unwrap();
        let first = map.find(&tag, "a", &[]).unwrap();
        assert_eq!(first, 10);
        let second = map.find(&tag, "a", &[first]).unwrap();
        assert_eq!(second, 14);
        // Not inside `add`, `a.b` or `as`, and never the block parameter.
        assert_eq!(map.find(&tag, "a", &[first, second]), None);
        assert_eq!(map.find(&tag, "a.b", &[]), Some(6));
        assert_eq!(map.find(&tag, "k", &[]), None);
    }
}
