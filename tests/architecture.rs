//! The module graph stays layered: no import circle between the crate's
//! top-level modules, nor between the modules of one folder, and nothing
//! below the pipeline imports it. Read from the source text (`crate::`
//! and `super::` paths outside test modules), which is how the circles
//! of issue 15 were found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path of a source file relative to `src/`, e.g. `kustomize::patch`.
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    match parts.as_slice() {
        [only] if only == "lib" || only == "main" => None,
        _ => Some(parts),
    }
}

fn rust_files(folder: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The code outside `#[cfg(test)]` modules (tests may reach anywhere) and
/// outside comments (prose may name any module).
fn code_of(text: &str) -> String {
    let text = text.find("#[cfg(test)]").map_or(text, |at| &text[..at]);
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each `prefix` path in the text, as its segments (lower-case ones only:
/// modules, not types).
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        // `a::b::{c, d::e}` is `a::b::c` and `a::b::d::e`.
        let (head, group) = match rest.find("::{") {
            Some(brace) if !rest[..brace].contains(|c: char| c.is_whitespace() || c == ';') => {
                (&rest[..brace], Some(&rest[brace + 3..]))
            }
            _ => ("", None),
        };
        match group {
            Some(group) => {
                let inner = &group[..group.find('}').unwrap_or(group.len())];
                for item in inner.split(',') {
                    let mut segments = module_segments(head);
                    segments.extend(module_segments(item.trim()));
                    found.push(segments);
                }
            }
            None if rest.starts_with('{') => {
                let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
                for item in inner.split(',') {
                    found.push(module_segments(item.trim()));
                }
            }
            None => found.push(module_segments(rest)),
        }
        found.retain(|segments| !segments.is_empty());
    }
    found
}

fn module_segments(path: &str) -> Vec<&str> {
    let end = path
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(path.len());
    path[..end]
        .split("::")
        .take_while(|s| s.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .collect()
}

/// Edges between modules cut to `depth` segments, within one parent.
fn graph(depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        if module.len() < depth {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = &code_of(&text);
        let from = module[..depth].join("::");
        let mut targets: Vec<Vec<String>> = paths_after(text, "crate::")
            .into_iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect();
        // `super::x` in a file resolves against its parent module, and
        // each further `super` climbs one more.
        for path in paths_after(text, "super::") {
            let climbs = 1 + path.iter().take_while(|s| **s == "super").count();
            let Some(base) = module.len().checked_sub(climbs) else {
                continue;
            };
            let mut absolute: Vec<String> = module[..base].to_vec();
            absolute.extend(path.iter().skip(climbs - 1).map(|s| s.to_string()));
            targets.push(absolute);
        }
        for target in targets {
            if target.len() < depth || target[..depth - 1] != module[..depth - 1] {
                continue;
            }
            let to = target[..depth].join("::");
            if to != from {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// A circle in the graph, if any, as the modules along it.
fn find_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, State>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), State::Open);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(State::Open) => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut circle = stack[start..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                Some(State::Done) => {}
                None => {
                    if let Some(circle) = visit(next, edges, state, stack) {
                        return Some(circle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), State::Done);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str()) {
            let mut stack = Vec::new();
            if let Some(circle) = visit(node, edges, &mut state, &mut stack) {
                return Some(circle);
            }
        }
    }
    None
}

#[test]
fn top_level_modules_import_no_circle() {
    let edges = graph(1);
    assert!(edges.len() > 10, "the source was not read: {edges:?}");
    if let Some(circle) = find_circle(&edges) {
        panic!("import circle: {}", circle.join(" -> "));
    }
}

#[test]
fn modules_of_one_folder_import_no_circle() {
    for depth in 2..=3 {
        if let Some(circle) = find_circle(&graph(depth)) {
            panic!("import circle: {}", circle.join(" -> "));
        }
    }
}

#[test]
fn only_the_entry_points_import_the_pipeline() {
    let edges = graph(1);
    let importers: Vec<&String> = edges
        .iter()
        .filter(|(_, targets)| targets.contains("runner"))
        .map(|(from, _)| from)
        .collect();
    assert!(importers.is_empty(), "import the runner: {importers:?}");
}

#[test]
fn the_circle_finder_finds_circles() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_circle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_circle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn rule_ids_are_written_only_by_their_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ids: Vec<String> = std::fs::read_dir(root.join("rules"))
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "md").then_some(stem)
        })
        .collect();
    assert!(ids.len() > 40, "{ids:?}");
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("rules") || relative == Path::new("catalog.rs") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for id in &ids {
            if code.contains(&format!("\"{id}\"")) {
                found.push(format!("{}: \"{id}\"", relative.display()));
            }
        }
    }
    assert!(found.is_empty(), "use the rule's ID constant: {found:?}");
}
