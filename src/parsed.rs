//! Files parsed once per run. A file that several Kustomize builds read,
//! and that is then linted for its own YAML traps, is read and parsed
//! once: each build takes a copy of its documents, the file's own lint
//! takes the original.

use crate::tree::Tree;
use crate::yaml::{self, Node, Span, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A file's text and what the loader read from it (spans from 0).
#[derive(Debug)]
pub struct ParsedFile {
    /// The text, as UTF-8.
    pub text: Arc<str>,
    /// Its documents.
    pub stream: yaml::Stream,
}

type Slot = Arc<OnceLock<Option<Arc<ParsedFile>>>>;

/// The run's parsed files, by real path.
#[derive(Debug)]
pub struct ParsedFiles {
    limits: yaml::Limits,
    max_file_size: u64,
    slots: Mutex<HashMap<PathBuf, Slot>>,
}

impl ParsedFiles {
    /// Files parsed under `limits`, each at most `max_file_size` bytes.
    pub fn new(limits: yaml::Limits, max_file_size: u64) -> Self {
        ParsedFiles {
            limits,
            max_file_size,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The cache of a run: its parser limits, with one alias budget for
    /// every file of the run.
    pub fn for_run(settings: &crate::settings::Settings) -> Self {
        let limits = yaml::Limits {
            run_aliases: Some(yaml::AliasBudget::new(yaml::RUN_ALIAS_NODES)),
            ..settings.limits.clone()
        };
        ParsedFiles::new(limits, settings.max_file_size)
    }

    /// The limits every file of the run is parsed under.
    pub fn limits(&self) -> &yaml::Limits {
        &self.limits
    }

    /// The file at the real path `path`, read from `tree` and parsed the
    /// first time anyone asks. `None` if it cannot be read as UTF-8 text:
    /// the caller reads it itself, to say why.
    pub fn get(&self, tree: &Tree, path: &Path) -> Option<Arc<ParsedFile>> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(path.to_path_buf())
            .or_default()
            .clone();
        // Another build parsing the same file meanwhile is waited for, not
        // repeated.
        slot.get_or_init(|| {
            let text: Arc<str> = tree.read_utf8(path, self.max_file_size).ok()?.into();
            let stream = yaml::parse_stream(&text, self.limits.clone());
            Some(Arc::new(ParsedFile { text, stream }))
        })
        .clone()
    }

    /// Whether no file was parsed (no build ran).
    pub fn is_empty(&self) -> bool {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_empty()
    }

    /// Takes the file out for its last use (its own lint), if some build
    /// parsed it.
    pub fn take(&self, path: &Path) -> Option<ParsedFile> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(path)?;
        let parsed = Arc::try_unwrap(slot).ok()?.into_inner()??;
        Some(Arc::try_unwrap(parsed).unwrap_or_else(|shared| ParsedFile {
            text: shared.text.clone(),
            stream: yaml::Stream {
                documents: shared.stream.documents.clone(),
                errors: shared.stream.errors.clone(),
            },
        }))
    }
}

/// A copy of `stream` whose spans start at `base` (its place in a
/// build's address space).
pub fn shifted(stream: &yaml::Stream, base: usize) -> yaml::Stream {
    let by = base as u32;
    let move_span = |span: Span| Span {
        start: span.start + by,
        end: span.end + by,
    };
    yaml::Stream {
        documents: stream
            .documents
            .iter()
            .map(|document| {
                let mut root = document.root.clone();
                shift_node(&mut root, by);
                yaml::Document {
                    root,
                    range: move_span(document.range),
                    duplicate_keys: document
                        .duplicate_keys
                        .iter()
                        .map(|(first, again)| (move_span(*first), move_span(*again)))
                        .collect(),
                }
            })
            .collect(),
        errors: stream
            .errors
            .iter()
            .map(|error| yaml::LoadError {
                message: error.message.clone(),
                span: move_span(error.span),
            })
            .collect(),
    }
}

fn shift_node(node: &mut Node, by: u32) {
    node.span.start += by;
    node.span.end += by;
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                entry.key_span.start += by;
                entry.key_span.end += by;
                shift_node(&mut entry.value, by);
            }
        }
        Value::Seq(items) => {
            for item in items {
                shift_node(item, by);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_parsed_once_and_shifted_per_build() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let path = root.join("cm.yaml");
        std::fs::write(&path, "kind: ConfigMap\ndata: {a: b}\n").unwrap();
        let tree = Tree::of(&[&root]);
        let parsed = ParsedFiles::new(yaml::Limits::default(), 1 << 20);
        let first = parsed.get(&tree, &path).unwrap();
        let again = parsed.get(&tree, &path).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let moved = shifted(&first.stream, 100);
        let value = moved.documents[0].root.get("kind").unwrap();
        assert_eq!(value.span, Span::new(106, 115));
        assert_eq!(&first.text[6..15], "ConfigMap");
        drop((first, again));
        // The file's own lint takes the original, and it is gone after.
        let taken = parsed.take(&path).unwrap();
        assert_eq!(
            taken.stream.documents[0].root.get("kind").unwrap().span,
            Span::new(6, 15)
        );
        assert!(parsed.take(&path).is_none());
    }
}
