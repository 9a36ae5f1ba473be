//! Message text as people read it: plain text with its web links made clickable.
//!
//! Only `http://` and `https://` links become links (never `javascript:` or `data:`), and
//! everything else stays text, which Leptos escapes: a message can never inject markup.

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Plain text.
    Text(&'a str),
    /// A web link.
    Link(&'a str),
}

/// Splits `text` into plain text and web links, in order.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_link(rest) {
        let end = start + link_len(&rest[start..]);
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Link(&rest[start..end]));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// Where the next link starts: `http://` or `https://` at the start or after a character
/// that cannot be part of a word.
fn find_link(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find("http") {
        let at = from + found;
        let after = &text[at..];
        let scheme = after.starts_with("https://") || after.starts_with("http://");
        let boundary = text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        if scheme && boundary && link_len(after) > after.find("://").unwrap_or(0) + 3 {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// How long the link at the start of `text` is: up to whitespace or a character URLs do not
/// carry, without trailing punctuation (a sentence's full stop is not part of its link).
fn link_len(text: &str) -> usize {
    let end = text.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`')).unwrap_or(text.len());
    let mut link = &text[..end];
    loop {
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'']);
        // A closing bracket ends the link unless the link opened one.
        let trimmed = match trimmed.strip_suffix(')') {
            Some(inner) if inner.matches('(').count() < inner.matches(')').count() + 1 => inner,
            _ => trimmed,
        };
        if trimmed.len() == link.len() {
            return link.len();
        }
        link = trimmed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::{Link, Text};

    #[test]
    fn links_in_text() {
        assert_eq!(
            pieces("see https://example.com/a?b=1."),
            [Text("see "), Link("https://example.com/a?b=1"), Text(".")]
        );
        assert_eq!(pieces("http://x.io"), [Link("http://x.io")]);
        assert_eq!(pieces("(https://x.io/a_(b))"), [Text("("), Link("https://x.io/a_(b)"), Text(")")]);
        assert_eq!(
            pieces("a https://a.b and https://c.d"),
            [Text("a "), Link("https://a.b"), Text(" and "), Link("https://c.d")]
        );
    }

    #[test]
    fn nothing_else_is_a_link() {
        for text in [
            "javascript:alert(1)",
            "data:text/html,<b>",
            "xhttps://a.b",
            "https://",
            "<script>alert(1)</script>",
            "ftp://a.b",
        ] {
            assert!(pieces(text).iter().all(|p| matches!(p, Text(_))), "{text}");
        }
        assert_eq!(pieces("<a href=\"https://x.io\">"), [Text("<a href=\""), Link("https://x.io"), Text("\">")]);
        assert!(pieces("").is_empty());
    }
}
