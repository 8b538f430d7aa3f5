//! The text of a workflow file and where each of its YAML nodes sits in it.
//!
//! serde tells us *what* is wrong; this map tells us *where*, by walking the marked YAML tree
//! along a path such as `steps[3].needs[0]`.

use marked_yaml::Node;

use super::diagnostic::Span;

/// One step of a path into the YAML tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A sequence index.
    Index(usize),
}

/// A workflow file's name and text, with its YAML tree.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as the user gave it, for messages.
    pub name: String,
    /// The file's text.
    pub text: String,
    root: Option<Node>,
}

impl Source {
    /// A source whose YAML tree is `root` (None when it did not parse).
    pub fn new(name: impl Into<String>, text: impl Into<String>, root: Option<Node>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
            root,
        }
    }

    /// The parsed YAML tree, if the text parsed.
    pub fn root(&self) -> Option<&Node> {
        self.root.as_ref()
    }

    /// The node at `path`.
    pub fn node(&self, path: &[Seg<'_>]) -> Option<&Node> {
        let mut node = self.root.as_ref()?;
        for seg in path {
            node = match (seg, node) {
                (Seg::Key(k), Node::Mapping(m)) => m.get_node(k)?,
                (Seg::Index(i), Node::Sequence(s)) => s.get_node(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The span of the value at `path`, or of the deepest ancestor that exists.
    pub fn span(&self, path: &[Seg<'_>]) -> Option<Span> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.node(&path[..n]))
            .and_then(|node| self.node_span(node))
    }

    /// The span of the key of the last segment of `path` (for "unknown field" errors);
    /// the value's span when the last segment is not a key.
    pub fn key_span(&self, path: &[Seg<'_>]) -> Option<Span> {
        let Some((Seg::Key(key), parent)) = path.split_last() else {
            return self.span(path);
        };
        match self.node(parent) {
            Some(Node::Mapping(m)) => m
                .keys()
                .find(|k| k.as_str() == *key)
                .and_then(|k| self.marker_span(k.span().start().copied())),
            _ => self.span(parent),
        }
    }

    /// The span of a node: the scalar's text, or the first line of a mapping or sequence.
    pub fn node_span(&self, node: &Node) -> Option<Span> {
        self.marker_span(node.span().start().copied())
    }

    /// A span for the token starting at `marker`.
    pub fn marker_span(&self, marker: Option<marked_yaml::Marker>) -> Option<Span> {
        let m = marker?;
        let start = self.offset(m.line(), m.column())?;
        Some(Span::new(start, start + token_len(&self.text[start..])))
    }

    /// The byte offset of a 1-based line and column (columns count characters).
    pub fn offset(&self, line: usize, column: usize) -> Option<usize> {
        let line_start = if line <= 1 {
            0
        } else {
            self.text
                .match_indices('\n')
                .nth(line - 2)
                .map(|(i, _)| i + 1)?
        };
        let rest = &self.text[line_start..];
        let within = rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i);
        Some(line_start + within)
    }

    /// The span inside a scalar's text for the byte range `range` of its content: used to
    /// point at one reference inside a template. Falls back to the whole scalar when the
    /// scalar is quoted or folded and offsets cannot be mapped one to one.
    pub fn sub_span(&self, scalar: Span, content: &str, range: std::ops::Range<usize>) -> Span {
        let raw = &self.text[scalar.start..scalar.end];
        if raw == content {
            return Span::new(scalar.start + range.start, scalar.start + range.end);
        }
        if raw.len() == content.len() + 2 && &raw[1..raw.len() - 1] == content {
            return Span::new(scalar.start + 1 + range.start, scalar.start + 1 + range.end);
        }
        scalar
    }
}

/// The length of the YAML token at the start of `text`: a quoted string up to its closing
/// quote, or a plain scalar up to the end of the line, a comment, or a flow delimiter.
fn token_len(text: &str) -> usize {
    let line = text.split('\n').next().unwrap_or("");
    let mut chars = line.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            let mut escaped = false;
            for (i, c) in chars {
                if q == '"' && c == '\\' && !escaped {
                    escaped = true;
                    continue;
                }
                if c == q && !escaped {
                    return i + 1;
                }
                escaped = false;
            }
            line.len()
        }
        Some((_, '[' | '{')) | None => line.len().min(1),
        Some(_) => {
            let end = line
                .find(" #")
                .into_iter()
                .chain(line.find(": "))
                .chain(line.ends_with(':').then(|| line.len() - 1))
                .chain(line.find([',', ']', '}']))
                .min()
                .unwrap_or(line.len());
            line[..end].trim_end().len().max(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str =
        "name: x\nsteps:\n  - id: a\n    needs: [b, \"c\"]\n    with: { amount: '1.5' } # note\n";

    fn source() -> Source {
        let root = marked_yaml::parse_yaml(0, YAML).unwrap();
        Source::new("f.yaml", YAML, Some(root))
    }

    fn text(src: &Source, span: Option<Span>) -> &str {
        let s = span.unwrap();
        &src.text[s.start..s.end]
    }

    #[test]
    fn finds_values_and_keys_by_path() {
        let src = source();
        let needs = [Seg::Key("steps"), Seg::Index(0), Seg::Key("needs")];
        assert_eq!(
            text(
                &src,
                src.span(&[needs[0], needs[1], needs[2], Seg::Index(0)])
            ),
            "b"
        );
        assert_eq!(
            text(
                &src,
                src.span(&[needs[0], needs[1], needs[2], Seg::Index(1)])
            ),
            "\"c\""
        );
        assert_eq!(text(&src, src.key_span(&needs)), "needs");
        let amount = [
            Seg::Key("steps"),
            Seg::Index(0),
            Seg::Key("with"),
            Seg::Key("amount"),
        ];
        assert_eq!(text(&src, src.span(&amount)), "'1.5'");
        // A missing leaf falls back to its closest existing ancestor.
        let missing = [
            Seg::Key("steps"),
            Seg::Index(0),
            Seg::Key("id"),
            Seg::Key("nope"),
        ];
        assert_eq!(text(&src, src.span(&missing)), "a");
    }

    #[test]
    fn offsets_count_lines_and_characters() {
        let src = Source::new("f", "a: é\nb: 1\n", None);
        assert_eq!(src.offset(1, 1), Some(0));
        assert_eq!(src.offset(2, 4), Some(9));
        assert_eq!(src.offset(9, 1), None);
        let s = src.sub_span(Span::new(0, 5), "a: é", 3..5);
        assert_eq!(&src.text[s.start..s.end], "é");
    }
}
