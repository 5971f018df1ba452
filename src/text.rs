//! Text from the linted tree made safe to show: file names, object names,
//! source lines and other programs' errors can hold terminal escapes
//! (`ESC]52` writes the clipboard, `ESC[2J` clears the screen), carriage
//! returns and newlines that CI systems read as commands, and invisible
//! direction overrides. Every human-facing format shows such characters as
//! visible symbols instead.

use std::borrow::Cow;

/// Whether a character must not reach a reader as it is.
fn is_unsafe(c: char, keep_layout: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_layout,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        // Zero-width and direction controls (Trojan Source), line and
        // paragraph separators, the byte order mark.
        '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}' => true,
        _ => false,
    }
}

/// The visible stand-in for an unsafe character: the Unicode control
/// picture for C0 controls and DEL (`␛` for ESC, `␊` for a newline),
/// `�` for the rest.
pub fn picture(c: char) -> char {
    match c {
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        _ => '\u{fffd}',
    }
}

/// One line of text with every control character (newlines and tabs too)
/// shown as a symbol.
pub fn clean_line(text: &str) -> Cow<'_, str> {
    clean(text, false)
}

/// Text whose lines and tabs are kept; every other control character is
/// shown as a symbol.
pub fn clean_block(text: &str) -> Cow<'_, str> {
    clean(text, true)
}

fn clean(text: &str, keep_layout: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c, keep_layout)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_unsafe(c, keep_layout) {
                    picture(c)
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// Whether a character is shown as a symbol by [`clean_block`].
pub fn needs_picture(c: char) -> bool {
    is_unsafe(c, true)
}

/// At most `max` characters of `text`, ending in `…` when cut.
pub fn bounded(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        assert_eq!(clean_line("web"), "web");
        assert_eq!(
            clean_line("a\x1b]52;c;aGk=\x07b\r\n::error::x"),
            "a␛]52;c;aGk=␇b␍␊::error::x"
        );
        assert_eq!(clean_block("a:\n\tb\u{202e}\u{9b}"), "a:\n\tb��");
        assert_eq!(bounded("abcdef", 3), "abc…");
        assert_eq!(bounded("abc", 3), "abc");
    }
}
