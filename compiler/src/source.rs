//! Source text and byte spans: the one place that turns a byte offset into `line:column`.
//!
//! Every span in the compiler is a byte range into the text of the [`SourceFile`] being
//! compiled. Conversion to 1-based line and (character) column happens only here, for rendering.

use std::fmt;

/// A byte range `start..end` into a [`SourceFile`]'s text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const fn new(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A named configuration text, with a line index for rendering positions.
#[derive(Clone)]
pub struct SourceFile {
    name: String,
    text: String,
    line_starts: Vec<u32>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .field("len", &self.text.len())
            .finish()
    }
}

/// A 1-based position for humans and for `--json` output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

impl SourceFile {
    /// `name` is what diagnostics print before `:line:col` (normally the path as given).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX)),
        );
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Clamps `offset` into the text and onto a character boundary.
    pub fn clamp(&self, offset: u32) -> u32 {
        let mut o = (offset as usize).min(self.text.len());
        while !self.text.is_char_boundary(o) {
            o -= 1;
        }
        o as u32
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: u32) -> LineCol {
        let offset = self.clamp(offset);
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.line_starts[line] as usize;
        let column = self.text[start..offset as usize].chars().count() + 1;
        LineCol {
            line: line as u32 + 1,
            column: column as u32,
        }
    }

    /// The byte span of the token that starts at `offset`: up to the end of the line, trimmed,
    /// at least one character. Used when the YAML library gives a position but no length.
    pub fn token_at(&self, offset: u32) -> Span {
        let start = self.clamp(offset) as usize;
        let rest = &self.text[start..];
        let line_end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let token = rest[..line_end].trim_end();
        let len = if token.is_empty() {
            rest.chars().next().map_or(0, char::len_utf8)
        } else {
            token.len()
        };
        Span::new(start as u32, (start + len) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let src = SourceFile::new("t.yaml", "a: 1\né: [x]\n");
        assert_eq!(src.line_col(0), LineCol { line: 1, column: 1 });
        let x = src.text().find('x').unwrap() as u32;
        assert_eq!(src.line_col(x), LineCol { line: 2, column: 5 });
        assert_eq!(src.line_col(10_000), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn token_at_stops_at_line_end() {
        let src = SourceFile::new("t.yaml", "key: value  \nnext");
        assert_eq!(&src.text()[src.token_at(5).range()], "value");
    }
}
