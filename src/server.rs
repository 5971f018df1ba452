//! `kslint server`: the Language Server Protocol over stdio, so an editor
//! shows findings where they are, as the user types.
//!
//! Every change lints the whole workspace (cross-resource rules need every
//! object), with the text of open documents in place of what is on disk,
//! and publishes each file's findings, one per root cause as people read
//! them. Hovering a finding shows its rule's documentation; the code
//! actions suppress a rule on a line, with a reason to fill in.

use crate::catalog::CATALOG;
use crate::diagnostic::{Label, Severity};
use crate::outcome::Outcome;
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types as lsp;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One finding as the editor has it, kept to answer hovers and code
/// actions.
struct Shown {
    range: lsp::Range,
    rules: Vec<&'static str>,
    /// The fixes its findings carry: title and edits in this file.
    fixes: Vec<(String, Vec<lsp::TextEdit>)>,
}

/// What the server knows between messages.
struct State<F> {
    root: PathBuf,
    lint: F,
    /// Open documents: their text, by absolute path.
    open: HashMap<PathBuf, String>,
    /// Files findings were published for, to clear when they have none.
    published: HashSet<PathBuf>,
    /// The findings of the last run, by file.
    shown: HashMap<PathBuf, Vec<Shown>>,
}

/// The overlays a lint run takes: unsaved texts by real path.
pub type Overlays = crate::tree::Overrides;

/// Serves on stdin and stdout until the client says `exit`.
/// `lint(root, overlays)` lints a workspace (with its config) as the
/// command line would, the overlays standing for their files.
pub fn serve(lint: impl Fn(&Path, Overlays) -> anyhow::Result<Outcome>) -> anyhow::Result<()> {
    let (connection, threads) = Connection::stdio();
    let capabilities = lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(
            lsp::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    };
    let params = connection.initialize(serde_json::to_value(capabilities)?)?;
    let params: lsp::InitializeParams = serde_json::from_value(params)?;
    #[allow(deprecated)] // `root_uri`: older clients send only it.
    let root = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .map(|folder| &folder.uri)
        .or(params.root_uri.as_ref())
        .and_then(path_of)
        .map_or_else(std::env::current_dir, Ok)?;
    let mut state = State {
        root,
        lint,
        open: HashMap::new(),
        published: HashSet::new(),
        shown: HashMap::new(),
    };
    state.lint(&connection)?;
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    break;
                }
                let response = state.answer(request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if state.note(notification) {
                    state.lint(&connection)?;
                }
            }
            Message::Response(_) => {}
        }
    }
    // The reader thread waits on stdin, which a client may keep open after
    // `exit`; the process ends here all the same.
    drop(threads);
    Ok(())
}

impl<F: Fn(&Path, Overlays) -> anyhow::Result<Outcome>> State<F> {
    /// Takes in a notification; true when the findings may have changed.
    fn note(&mut self, notification: Notification) -> bool {
        use lsp::notification::{
            DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
            Notification as _,
        };
        let params = notification.params;
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(params) else {
                    return false;
                };
                let Some(path) = path_of(&p.text_document.uri) else {
                    return false;
                };
                self.open.insert(path, p.text_document.text);
                true
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(params)
                else {
                    return false;
                };
                // Full synchronisation: the last change is the whole text.
                match (
                    path_of(&p.text_document.uri),
                    p.content_changes.into_iter().last(),
                ) {
                    (Some(path), Some(change)) => {
                        self.open.insert(path, change.text);
                        true
                    }
                    _ => false,
                }
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(params)
                else {
                    return false;
                };
                path_of(&p.text_document.uri).is_some_and(|path| self.open.remove(&path).is_some())
            }
            DidSaveTextDocument::METHOD => true,
            _ => false,
        }
    }

    /// Lints the workspace and publishes what changed.
    fn lint(&mut self, connection: &Connection) -> anyhow::Result<()> {
        // Builds and charts read through the tree too: keyed as it looks
        // files up, by real path.
        let overlays: HashMap<PathBuf, Arc<str>> = self
            .open
            .iter()
            .filter_map(|(path, text)| Some((path.canonicalize().ok()?, Arc::from(text.as_str()))))
            .collect();
        let outcome = match (self.lint)(&self.root, Arc::new(overlays)) {
            Ok(outcome) => outcome,
            Err(e) => {
                let message = lsp::ShowMessageParams {
                    typ: lsp::MessageType::ERROR,
                    message: format!("kslint: {e}"),
                };
                send_notification::<lsp::notification::ShowMessage>(connection, message)?;
                return Ok(());
            }
        };
        let by_file = diagnostics(&outcome, &self.root);
        self.shown.clear();
        let mut now: HashSet<PathBuf> = HashSet::new();
        for (path, (published, shown)) in by_file {
            publish(connection, &path, published)?;
            self.shown.insert(path.clone(), shown);
            now.insert(path);
        }
        for gone in self.published.difference(&now) {
            publish(connection, gone, Vec::new())?;
        }
        self.published = now;
        Ok(())
    }

    fn answer(&self, request: Request) -> Response {
        use lsp::request::{CodeActionRequest, HoverRequest, Request as _};
        let result = match request.method.as_str() {
            HoverRequest::METHOD => serde_json::from_value::<lsp::HoverParams>(request.params)
                .ok()
                .and_then(|p| self.hover(&p))
                .map(|hover| serde_json::to_value(hover).unwrap_or_default())
                .unwrap_or(serde_json::Value::Null),
            CodeActionRequest::METHOD => {
                serde_json::from_value::<lsp::CodeActionParams>(request.params)
                    .ok()
                    .map(|p| serde_json::to_value(self.code_actions(&p)).unwrap_or_default())
                    .unwrap_or(serde_json::Value::Null)
            }
            _ => {
                return Response::new_err(
                    request.id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("kslint does not answer {}", request.method),
                );
            }
        };
        Response::new_ok(request.id, result)
    }

    /// The documentation of the rules of the findings under the cursor.
    fn hover(&self, params: &lsp::HoverParams) -> Option<lsp::Hover> {
        let at = &params.text_document_position_params;
        let path = path_of(&at.text_document.uri)?;
        let rules: Vec<&'static str> = self
            .shown
            .get(&path)?
            .iter()
            .filter(|s| contains(&s.range, at.position))
            .flat_map(|s| s.rules.iter().copied())
            .collect();
        let docs: Vec<&str> = CATALOG
            .iter()
            .filter(|meta| rules.contains(&meta.id))
            .map(|meta| meta.doc)
            .collect();
        (!docs.is_empty()).then(|| lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: docs.join("\n\n---\n\n"),
            }),
            range: None,
        })
    }

    /// For each finding in the range: suppress its rules on its line, with
    /// a comment alone on the line above (indented as that line), the
    /// reason left for the user to write.
    fn code_actions(&self, params: &lsp::CodeActionParams) -> Vec<lsp::CodeActionOrCommand> {
        let Some(path) = path_of(&params.text_document.uri) else {
            return Vec::new();
        };
        let Some(shown) = self.shown.get(&path) else {
            return Vec::new();
        };
        let text = self
            .open
            .get(&path)
            .cloned()
            .or_else(|| std::fs::read_to_string(&path).ok())
            .unwrap_or_default();
        let mut actions = Vec::new();
        for finding in shown.iter().filter(|s| overlaps(&s.range, &params.range)) {
            for (title, edits) in &finding.fixes {
                actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                    title: title.clone(),
                    kind: Some(lsp::CodeActionKind::QUICKFIX),
                    edit: Some(lsp::WorkspaceEdit {
                        changes: Some(HashMap::from([(
                            params.text_document.uri.clone(),
                            edits.clone(),
                        )])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }));
            }
            let line = finding.range.start.line;
            let indent: String = text
                .lines()
                .nth(line as usize)
                .unwrap_or("")
                .chars()
                .take_while(|c| *c == ' ')
                .collect();
            let rules = finding.rules.join(", ");
            let insert = lsp::Position { line, character: 0 };
            let edit = lsp::TextEdit {
                range: lsp::Range {
                    start: insert,
                    end: insert,
                },
                new_text: format!("{indent}# kslint-ignore {rules} -- \n"),
            };
            actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: format!("Suppress {rules} on this line (write why after --)"),
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                edit: Some(lsp::WorkspaceEdit {
                    changes: Some(HashMap::from([(
                        params.text_document.uri.clone(),
                        vec![edit],
                    )])),
                    ..Default::default()
                }),
                ..Default::default()
            }));
        }
        actions
    }
}

/// Each file's findings (absolute path): as LSP diagnostics, and as kept
/// for hovers and code actions.
fn diagnostics(
    outcome: &Outcome,
    root: &Path,
) -> HashMap<PathBuf, (Vec<lsp::Diagnostic>, Vec<Shown>)> {
    let mut by_file: HashMap<PathBuf, (Vec<lsp::Diagnostic>, Vec<Shown>)> = HashMap::new();
    for finding in crate::group::findings(&outcome.diagnostics) {
        let Some((path, range)) = place(outcome, &finding.primary, root) else {
            continue;
        };
        let rules = finding.rules();
        let mut message = match finding.object() {
            Some(object) => format!("{object}: {}", finding.message),
            None => finding.message.clone(),
        };
        if let Some(help) = &finding.help {
            message.push_str("\n\n");
            message.push_str(help);
        }
        let related = finding
            .related
            .iter()
            .filter_map(|label| {
                let (path, range) = place(outcome, label, root)?;
                Some(lsp::DiagnosticRelatedInformation {
                    location: lsp::Location {
                        uri: uri_of(&path)?,
                        range,
                    },
                    message: label.message.clone(),
                })
            })
            .collect::<Vec<_>>();
        let diagnostic = lsp::Diagnostic {
            range,
            severity: Some(match finding.severity {
                Severity::Error => lsp::DiagnosticSeverity::ERROR,
                Severity::Warning => lsp::DiagnosticSeverity::WARNING,
                Severity::Note => lsp::DiagnosticSeverity::INFORMATION,
            }),
            code: Some(lsp::NumberOrString::String(rules.join(","))),
            source: Some("kslint".to_owned()),
            // Line breaks stay: the help is a YAML block to paste.
            message: message
                .chars()
                .filter(|c| !c.is_control() || *c == '\n')
                .collect(),
            related_information: (!related.is_empty()).then_some(related),
            ..Default::default()
        };
        // A fix whose edits are all in this file, as a quick fix.
        let fixes = finding
            .members
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter_map(|fix| {
                let edits = fix
                    .edits
                    .iter()
                    .map(|edit| {
                        let label = Label {
                            file: edit.file,
                            span: edit.span,
                            message: String::new(),
                        };
                        let (edit_path, range) = place(outcome, &label, root)?;
                        (edit_path == path).then(|| lsp::TextEdit {
                            range,
                            new_text: edit.replacement.clone(),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                let title = format!(
                    "Fix: {}{}",
                    fix.title,
                    match fix.applicability {
                        crate::diagnostic::Applicability::Safe => "",
                        crate::diagnostic::Applicability::Unsafe => " (changes the object)",
                    }
                );
                Some((title, edits))
            })
            .collect();
        let entry = by_file.entry(path).or_default();
        entry.0.push(diagnostic);
        entry.1.push(Shown {
            range,
            rules,
            fixes,
        });
    }
    by_file
}

/// A label's file (absolute) and range in LSP terms: 0-based lines,
/// columns in UTF-16 code units.
fn place(outcome: &Outcome, label: &Label, root: &Path) -> Option<(PathBuf, lsp::Range)> {
    let file = outcome.db.file(label.file);
    let path = root.join(&file.name);
    let position = |offset: u32| {
        let offset = (offset as usize).min(file.text.len());
        let before = file.text.get(..offset)?;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Some(lsp::Position {
            line: file.line_col(offset as u32).line.saturating_sub(1),
            character: before[line_start..].encode_utf16().count() as u32,
        })
    };
    Some((
        path,
        lsp::Range {
            start: position(label.span.start)?,
            end: position(label.span.end)?,
        },
    ))
}

fn contains(range: &lsp::Range, at: lsp::Position) -> bool {
    let key = |p: lsp::Position| (p.line, p.character);
    key(range.start) <= key(at) && key(at) <= key(range.end)
}

/// Whether the ranges share a line: a code action is asked for where the
/// cursor is, which may be anywhere on the finding's line.
fn overlaps(a: &lsp::Range, b: &lsp::Range) -> bool {
    a.start.line <= b.end.line && b.start.line <= a.end.line
}

fn publish(
    connection: &Connection,
    path: &Path,
    diagnostics: Vec<lsp::Diagnostic>,
) -> anyhow::Result<()> {
    let Some(uri) = uri_of(path) else {
        return Ok(());
    };
    send_notification::<lsp::notification::PublishDiagnostics>(
        connection,
        lsp::PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        },
    )
}

fn send_notification<N: lsp::notification::Notification>(
    connection: &Connection,
    params: N::Params,
) -> anyhow::Result<()> {
    connection
        .sender
        .send(Message::Notification(Notification::new(
            N::METHOD.to_owned(),
            params,
        )))?;
    Ok(())
}

/// The path of a `file:` URI, percent-decoded.
fn path_of(uri: &lsp::Uri) -> Option<PathBuf> {
    let text = uri.as_str().strip_prefix("file://")?;
    let text = text.strip_prefix("localhost").unwrap_or(text);
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            decoded.push(byte);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    use std::os::unix::ffi::OsStringExt;
    Some(crate::changes::normalized(Path::new(
        &std::ffi::OsString::from_vec(decoded),
    )))
}

/// The `file:` URI of an absolute path.
fn uri_of(path: &Path) -> Option<lsp::Uri> {
    use std::os::unix::ffi::OsStrExt;
    let mut text = String::from("file://");
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            text.push(byte as char);
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip() {
        let path = Path::new("/work/my repo/ä.yaml");
        let uri = uri_of(path).unwrap();
        assert_eq!(uri.as_str(), "file:///work/my%20repo/%C3%A4.yaml");
        assert_eq!(path_of(&uri).unwrap(), path);
    }
}
