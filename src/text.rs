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
        '\u{ad}'
        | '\u{61c}'
        | '\u{115f}'
        | '\u{1160}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{3164}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{feff}'
        | '\u{ffa0}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}' => true,
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

/// Where a CI log reads a command anywhere in a line: GitHub's legacy
/// `##[error]` form and Azure Pipelines' `##vso[`.
const LOG_COMMANDS: [&str; 2] = ["##[", "##vso["];

fn clean(text: &str, keep_layout: bool) -> Cow<'_, str> {
    let controls = text.chars().any(|c| is_unsafe(c, keep_layout));
    let commands = LOG_COMMANDS.iter().any(|m| text.contains(m));
    if !controls && !commands {
        return Cow::Borrowed(text);
    }
    let mut out: String = text
        .chars()
        .map(|c| {
            if is_unsafe(c, keep_layout) {
                picture(c)
            } else {
                c
            }
        })
        .collect();
    if commands {
        // A space keeps the text readable and the log from seeing a command.
        out = out.replace("##[", "# #[").replace("##vso[", "# #vso[");
    }
    Cow::Owned(out)
}

/// Machine-readable output made safe for a CI log that reads commands
/// anywhere in a line, without changing the data: in JSON strings `#` may
/// be written `\u0023`, in XML `&#35;`. (JSON and XML syntax have no `#`
/// of their own, so only text is touched.)
pub fn escape_log_commands_json(text: String) -> String {
    if text.contains("##") {
        text.replace("##", "#\\u0023")
    } else {
        text
    }
}

/// See [`escape_log_commands_json`]; for XML.
pub fn escape_log_commands_xml(text: String) -> String {
    if text.contains("##") {
        text.replace("##", "#&#35;")
    } else {
        text
    }
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

/// `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
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
        // Invisible letters and tags, and log commands read mid-line.
        assert_eq!(clean_line("a\u{61c}\u{e0041}\u{3164}b"), "a���b");
        assert_eq!(
            clean_line("x ##[error]y ##vso[task]"),
            "x # #[error]y # #vso[task]"
        );
        assert_eq!(
            escape_log_commands_json(r###"{"m":"##[error]"}"###.to_owned()),
            r###"{"m":"#\u0023[error]"}"###
        );
    }
}
