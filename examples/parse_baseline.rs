//! The floor for any spanned YAML parse: saphyr-parser events only, over the
//! same files kslint would read, in parallel. `bench/throughput.sh` compares
//! kslint against it.

use rayon::prelude::*;

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let files: Vec<std::path::PathBuf> = ignore::WalkBuilder::new(&root)
        .build()
        .filter_map(Result::ok)
        .map(ignore::DirEntry::into_path)
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    let (bytes, events) = files
        .par_iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let mut events = 0usize;
            for event in saphyr_parser::Parser::new_from_str(&text) {
                if event.is_err() {
                    break;
                }
                events += 1;
            }
            (text.len(), events)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("{} files, {bytes} bytes, {events} events", files.len());
}
