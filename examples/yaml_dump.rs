//! Prints what kslint's loader makes of a file: each document as JSON, and
//! each load error. A tool for working on the loader (issue 18).
//!
//!     cargo run --example yaml_dump -- FILE
fn main() {
    let path = std::env::args().nth(1).expect("usage: yaml_dump FILE");
    let bytes = std::fs::read(&path).expect("readable file");
    let (text, _) = kslint::source::text_of(bytes);
    let stream = kslint::yaml::parse_manifest_stream(&text, kslint::yaml::Limits::default());
    for document in &stream.documents {
        println!("{}", document.root.to_json());
    }
    for error in &stream.errors {
        println!("error at {}: {}", error.span.start, error.message);
    }
}
