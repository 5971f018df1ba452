//! Plain-scalar resolution as Kubernetes reads YAML.
//!
//! kubectl, Helm and client-go convert YAML to JSON with sigs.k8s.io/yaml,
//! which resolves plain scalars with go-yaml v2's YAML 1.1 rules. A YAML 1.2
//! parser would read `on` as a string and `0644` as 644; Kubernetes reads
//! `true` and 420, so kslint must too.

use super::Value;

/// Resolves a plain (unquoted, untagged) scalar the way go-yaml v2 does.
pub fn resolve_plain(text: &str) -> Value {
    resolve_non_string(text).unwrap_or_else(|| Value::Str(text.to_owned()))
}

/// Like [`resolve_plain`], but `None` when the scalar is a string, so the
/// caller can keep the text it already owns.
pub fn resolve_non_string(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Some(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Some(Value::Bool(false));
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return None;
    }
    resolve_number(text)
}

/// Whether YAML 1.2 (core schema) would read this plain scalar differently
/// from YAML 1.1: the `yaml-ambiguous-value` trap.
pub fn is_yaml11_only(text: &str) -> bool {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "n" | "N" | "no" | "No" | "NO"
        | "off" | "Off" | "OFF" => return true,
        _ => {}
    }
    let digits = text.trim_start_matches(['+', '-']);
    // `.5_0` too: a number to go-yaml, text to YAML 1.2.
    let looks_numeric = digits
        .strip_prefix('.')
        .unwrap_or(digits)
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit());
    if !looks_numeric || resolve_number(text).is_none() {
        return false;
    }
    digits.contains('_')
        || digits.starts_with("0b")
        || (digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit())
}

fn resolve_number(text: &str) -> Option<Value> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    // go-yaml v2 hands a scalar starting with `.` to Go's ParseFloat as
    // written, which takes an underscore only between digits: `.5_0` is
    // 0.5, `._5` is text.
    if text.starts_with('.') && !go_underscores_ok(text) {
        return None;
    }
    // Otherwise it drops every underscore before trying the numeric forms.
    let plain: std::borrow::Cow<str> = if text.contains('_') {
        text.replace('_', "").into()
    } else {
        text.into()
    };
    if let Some(int) = parse_go_int(&plain) {
        return Some(int);
    }
    // Go's ParseFloat fails on a number beyond the float range (`1e400`),
    // and go-yaml v2 then keeps the text as a string.
    if is_yaml_float(&plain)
        && let Ok(float) = plain.parse::<f64>()
        && float.is_finite()
    {
        return Some(float_value(float));
    }
    None
}

/// Whether Go's number parsers take the underscores of `text`: each
/// between two digits.
fn go_underscores_ok(text: &str) -> bool {
    let mut after_digit = false;
    let mut after_underscore = false;
    for b in text.bytes() {
        match b {
            b'0'..=b'9' => (after_digit, after_underscore) = (true, false),
            b'_' if after_digit => (after_digit, after_underscore) = (false, true),
            b'_' => return false,
            _ if after_underscore => return false,
            _ => (after_digit, after_underscore) = (false, false),
        }
    }
    !after_underscore
}

/// Whether go-yaml v2 reads the text as a timestamp: a date `2006-1-2`,
/// alone or with a time (`T`, `t` or a space, then `15:4:5` and an optional
/// fraction; after `T` or `t` also a zone, `Z` or `+07:00`).
pub fn is_timestamp(text: &str) -> bool {
    fn number(
        text: &str,
        min: usize,
        max: usize,
        range: std::ops::RangeInclusive<u32>,
    ) -> Option<&str> {
        let digits = text
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        (digits >= min && range.contains(&text[..digits].parse().ok()?)).then(|| &text[digits..])
    }
    let date = || -> Option<&str> {
        let rest = number(text, 4, 4, 0..=9999)?.strip_prefix('-')?;
        let rest = number(rest, 1, 2, 1..=12)?.strip_prefix('-')?;
        number(rest, 1, 2, 1..=31)
    };
    let Some(rest) = date() else {
        return false;
    };
    let (zoned, rest) = match rest.as_bytes().first() {
        None => return true,
        Some(b'T' | b't') => (true, &rest[1..]),
        Some(b' ') => (false, &rest[1..]),
        Some(_) => return false,
    };
    let time = || -> Option<&str> {
        let rest = number(rest, 1, 2, 0..=23)?.strip_prefix(':')?;
        let rest = number(rest, 1, 2, 0..=59)?.strip_prefix(':')?;
        let rest = number(rest, 1, 2, 0..=59)?;
        Some(match rest.strip_prefix('.') {
            Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => rest,
        })
    };
    let Some(zone) = time() else {
        return false;
    };
    if !zoned {
        return zone.is_empty();
    }
    zone == "Z"
        || zone
            .strip_prefix(['+', '-'])
            .and_then(|z| number(z, 2, 2, 0..=23))
            .and_then(|z| z.strip_prefix(':'))
            .and_then(|z| number(z, 2, 2, 0..=59))
            .is_some_and(str::is_empty)
}

/// Whether a plain scalar is an integer that only an unsigned 64-bit
/// integer holds (above `i64::MAX`).
pub fn is_unsigned_only(text: &str) -> bool {
    matches!(parse_go_int(&text.replace('_', "")), Some(Value::Float(_)))
}

/// Whether a plain scalar that resolves to a number is written as a float
/// (`1e6`, `2.0`), not an integer.
pub fn is_float_text(text: &str) -> bool {
    if text.starts_with('.') && !go_underscores_ok(text) {
        return false;
    }
    let plain = text.replace('_', "");
    parse_go_int(&plain).is_none() && is_yaml_float(&plain)
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint`: base prefixes and
/// leading-zero octal.
fn parse_go_int(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let (radix, body) = if let Some(rest) = digits.strip_prefix("0x").or(digits.strip_prefix("0X"))
    {
        (16, rest)
    } else if let Some(rest) = digits.strip_prefix("0o").or(digits.strip_prefix("0O")) {
        (8, rest)
    } else if let Some(rest) = digits.strip_prefix("0b").or(digits.strip_prefix("0B")) {
        (2, rest)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some(Value::Int((magnitude as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if magnitude <= i64::MAX as u64 {
        Some(Value::Int(magnitude as i64))
    } else {
        Some(Value::Float(magnitude as f64))
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits_from = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    if bytes.get(i) == Some(&b'.') {
        let end = digits_from(i + 1);
        if end == i + 1 {
            return false;
        }
        i = end;
    } else {
        let end = digits_from(i);
        if end == i {
            return false;
        }
        i = end;
        if bytes.get(i) == Some(&b'.') {
            i = digits_from(i + 1);
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let end = digits_from(i);
        if end == i {
            return false;
        }
        i = end;
    }
    i == bytes.len()
}

/// A float that holds a whole number encodes as a JSON integer (`1e3` is
/// `1000`), as Go's encoding/json writes it, so it fits integer fields.
fn float_value(float: f64) -> Value {
    // `-0.0` stays a float: as a key it is "-0", not "0".
    if float.is_finite()
        && float.fract() == 0.0
        && float.abs() < 9.0e15
        && !(float == 0.0 && float.is_sign_negative())
    {
        Value::Int(float as i64)
    } else {
        Value::Float(float)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_yaml_11_scalars() {
        assert_eq!(resolve_plain("on"), Value::Bool(true));
        assert_eq!(resolve_plain("No"), Value::Bool(false));
        assert_eq!(resolve_plain("0644"), Value::Int(420));
        assert_eq!(resolve_plain("0777"), Value::Int(511));
        assert_eq!(resolve_plain("0o17"), Value::Int(15));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("0b101"), Value::Int(5));
        assert_eq!(resolve_plain("1_000"), Value::Int(1000));
        assert_eq!(resolve_plain("._5"), Value::Str("._5".into()));
        assert_eq!(resolve_plain("-._5"), Value::Float(-0.5));
        assert_eq!(resolve_plain(".5"), Value::Float(0.5));
        assert_eq!(resolve_plain("08"), Value::Int(8));
        assert_eq!(resolve_plain("1e3"), Value::Int(1000));
        assert_eq!(resolve_plain("-12"), Value::Int(-12));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("2001-12-14"), Value::Str("2001-12-14".into()));
        assert_eq!(resolve_plain("1.2.3"), Value::Str("1.2.3".into()));
        assert_eq!(resolve_plain("-"), Value::Str("-".into()));
        assert_eq!(resolve_plain("nginx:1.25"), Value::Str("nginx:1.25".into()));
        assert_eq!(resolve_plain("12Mi"), Value::Str("12Mi".into()));
    }

    #[test]
    fn timestamps_and_go_underscores() {
        for timestamp in [
            "2001-12-14",
            "2001-1-2",
            "2001-12-14T21:59:43.10Z",
            "2001-12-14 21:59:43.10",
            "2001-12-14t21:59:43-05:00",
        ] {
            assert!(is_timestamp(timestamp), "{timestamp}");
        }
        for text in [
            "2001-13-14",
            "01-12-14",
            "2001-12-14T21:59:43",
            "2001-12-14 21:59:43Z",
            "abc",
        ] {
            assert!(!is_timestamp(text), "{text}");
        }
        assert_eq!(resolve_plain(".5_0"), Value::Float(0.5));
        assert_eq!(resolve_plain("._5"), Value::Str("._5".into()));
        assert_eq!(resolve_plain(".5_"), Value::Str(".5_".into()));
        assert!(is_unsigned_only("18446744073709551615"));
        assert!(!is_unsigned_only("9223372036854775807"));
        assert!(!is_unsigned_only("1e19"));
    }

    #[test]
    fn yaml_11_only_forms() {
        for ambiguous in ["yes", "off", "Y", "0644", "0b11", "1_000", ".5_0"] {
            assert!(is_yaml11_only(ambiguous), "{ambiguous}");
        }
        for plain in [
            "true", "false", "0", "10", "0x1F", "1.5", "app", "08x", "._5",
        ] {
            assert!(!is_yaml11_only(plain), "{plain}");
        }
    }
}
