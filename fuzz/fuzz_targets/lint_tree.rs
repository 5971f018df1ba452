//! A whole lint of a small tree (up to four files, split at 0xFF bytes),
//! rendered in every output format. No panic, and no control character of
//! the input reaches human output.
#![no_main]

use kslint::report::{self, Format, HumanOptions};
use kslint::runner::{Text, lint_texts};
use kslint::settings::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let texts: Vec<Text> = data
        .split(|b| *b == 0xff)
        .take(4)
        .enumerate()
        .map(|(i, part)| Text::Given {
            name: format!("f{i}.yaml"),
            text: String::from_utf8_lossy(part).into_owned(),
        })
        .collect();
    let settings = Settings::default();
    let outcome = lint_texts(texts, &settings);
    let options = HumanOptions {
        color: false,
        width: 80,
    };
    for format in [
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Junit,
        Format::Gitlab,
        Format::Markdown,
    ] {
        let text = report::render(format, &outcome, options);
        if matches!(format, Format::Human | Format::Github | Format::Markdown) {
            assert!(
                !text.contains(['\x1b', '\r', '\u{9b}']),
                "a control character reached {format:?} output"
            );
        }
    }
});
