//! Kustomize's regular expressions (patch targets, `images` names). Most
//! name things plainly, and those match without compiling an expression:
//! compiling one costs more than the rest of a small build.

/// An anchored regular expression.
pub(super) enum Pattern {
    /// A plain text: see [`Plain`].
    Plain(Plain),
    Regex(regex::Regex),
}

/// Letters, digits, `-`, `_`, `/`, `:` and `.`, where `.` matches any
/// character but a line break, as in the expression. Each character of
/// the pattern matches exactly one of the value, so there is one way to
/// match and no backtracking.
pub(super) struct Plain(String);

impl Plain {
    /// `text` as a plain pattern, if it is one.
    pub(super) fn new(text: &str) -> Option<Self> {
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_/:.".contains(&b))
            .then(|| Plain(text.to_owned()))
    }

    /// What follows the pattern at the start of `value`, if it starts
    /// with a match.
    pub(super) fn strip_prefix<'v>(&self, value: &'v str) -> Option<&'v str> {
        let mut chars = value.char_indices();
        for p in self.0.bytes() {
            match chars.next() {
                Some((_, c)) if p == b'.' && c != '\n' => {}
                Some((_, c)) if p != b'.' && c == char::from(p) => {}
                _ => return None,
            }
        }
        Some(chars.next().map_or("", |(at, _)| &value[at..]))
    }
}

impl Pattern {
    /// `text` as a whole-value match (`^(?:text)$`).
    pub(super) fn new(text: &str) -> Result<Self, regex::Error> {
        match Plain::new(text) {
            Some(plain) => Ok(Pattern::Plain(plain)),
            None => regex::Regex::new(&format!("^(?:{text})$")).map(Pattern::Regex),
        }
    }

    pub(super) fn is_match(&self, value: &str) -> bool {
        match self {
            Pattern::Plain(plain) => plain.strip_prefix(value) == Some(""),
            Pattern::Regex(regex) => regex.is_match(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Pattern, Plain};

    /// A plain pattern matches exactly what its regular expression does.
    #[test]
    fn plain_patterns_match_as_their_expressions_do() {
        let patterns = [
            "apps",
            "v1",
            "rbac.authorization.k8s.io",
            "my-app_2",
            "a.c",
            "",
        ];
        let values = [
            "apps",
            "app",
            "appsx",
            "v1",
            "V1",
            "rbac.authorization.k8s.io",
            "rbacXauthorization.k8s.io",
            "my-app_2",
            "abc",
            "a\nc",
            "aéc",
            "a.c",
            "",
        ];
        for text in patterns {
            let plain = Pattern::new(text).unwrap();
            assert!(matches!(plain, Pattern::Plain(_)), "{text}");
            let regex = regex::Regex::new(&format!("^(?:{text})$")).unwrap();
            for value in values {
                assert_eq!(
                    plain.is_match(value),
                    regex.is_match(value),
                    "{text} {value:?}"
                );
            }
        }
        assert!(matches!(Pattern::new("app.*").unwrap(), Pattern::Regex(_)));
        assert!(Pattern::new("app(").is_err());
    }

    #[test]
    fn a_prefix_match_gives_the_rest() {
        let plain = Plain::new("a.c").unwrap();
        assert_eq!(plain.strip_prefix("aécd:1"), Some("d:1"));
        assert_eq!(plain.strip_prefix("abc"), Some(""));
        assert_eq!(plain.strip_prefix("ab"), None);
        assert_eq!(plain.strip_prefix("a\ncd"), None);
        assert!(Plain::new("a|b").is_none());
    }
}
