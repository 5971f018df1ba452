//! The YAML loader on any bytes: it must never panic, and every document
//! it loads must turn into JSON.
#![no_main]

use kslint::yaml::{Limits, parse_stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, _) = kslint::source::text_of(data.to_vec());
    let stream = parse_stream(&text, Limits::default());
    for document in &stream.documents {
        let _ = document.root.to_json();
        assert!(document.range.end as usize <= text.len());
    }
    for error in &stream.errors {
        assert!(error.span.start <= error.span.end);
    }
});
