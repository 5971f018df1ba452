//! Text edits that change YAML the way a person would: a key added to a
//! mapping at its indentation (block) or before its closing brace (flow),
//! an item added to a list; comments, quoting and layout around them stay.
//! An edit that cannot be made plainly is not made: the caller offers no
//! fix, and `kslint fix` decodes every result before it keeps it.

use crate::diagnostic::{Applicability, Edit, Effect, Fix, Hardening};
use crate::source::FileId;
use crate::yaml::{Entry, Node, Span};

/// The file a fix edits and how it is laid out.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file.
    pub file: FileId,
    /// Its text, as linted.
    pub text: &'a str,
    /// Spaces per level of block nesting in the document.
    pub step: usize,
}

impl<'a> Source<'a> {
    /// The source of a document whose root is `root`, its nesting step
    /// measured there (two spaces if nothing shows it).
    pub fn new(file: FileId, text: &'a str, root: &Node) -> Source<'a> {
        let step = root
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter(|entry| is_block_map(text, &entry.value))
            .find_map(|entry| {
                let child = own_entries(&entry.value).next()?;
                column(text, child.key_span.start).checked_sub(column(text, entry.key_span.start))
            })
            .filter(|&step| step > 0)
            .unwrap_or(2);
        Source { file, text, step }
    }

    /// Sets `path` below the mapping `base` to `value` (a YAML flow
    /// scalar or collection), adding the keys that are missing. `None` if
    /// the last key is already written (whatever its value), if a key on
    /// the way holds something other than a mapping, or if the layout is
    /// not one this edits plainly.
    pub fn insert_path(&self, base: &Node, path: &[&str], value: &str) -> Option<Edit> {
        let mut node = base;
        let mut holder: Option<(&Node, &Entry)> = None;
        let mut rest = path;
        while let Some((key, deeper)) = rest.split_first() {
            match node.entry(key) {
                Some(_) if deeper.is_empty() => return None,
                Some(entry) => {
                    entry.value.as_map()?;
                    holder = Some((node, entry));
                    node = &entry.value;
                    rest = deeper;
                }
                None => break,
            }
        }
        if rest.is_empty() {
            return None;
        }
        if let Some((parent, entry)) = holder
            && let Some(edit) = self.fill_empty_flow(parent, entry, rest, value)
        {
            return Some(edit);
        }
        Some(self.insertion(node)?.edit(self.file, rest, value))
    }

    /// `key: {}` in a block mapping (as Helm renders an empty value)
    /// becomes a block holding `path`: one long flow line is no file's
    /// style. `None` unless only the colon and blanks come between the key
    /// and its `{}`.
    fn fill_empty_flow(
        &self,
        parent: &Node,
        entry: &Entry,
        path: &[&str],
        value: &str,
    ) -> Option<Edit> {
        let bytes = self.text.as_bytes();
        let map = &entry.value;
        let empty = map.as_map().is_some_and(<[_]>::is_empty);
        if !empty
            || bytes.get(parent.span.start as usize) == Some(&b'{')
            || self
                .text
                .get(map.span.start as usize..map.span.end as usize)
                != Some("{}")
        {
            return None;
        }
        let between = self
            .text
            .get(entry.key_span.end as usize..map.span.start as usize)?;
        let after_colon = between.strip_prefix(':')?;
        if !after_colon
            .bytes()
            .all(|b| matches!(b, b' ' | b'\n' | b'\r'))
        {
            return None;
        }
        let crlf = self.text[..entry.key_span.end as usize].ends_with('\r')
            || self.text[map.span.end as usize..].starts_with("\r\n");
        let insertion = Insertion {
            at: entry.key_span.end + 1,
            layout: Layout::Block {
                column: u16::try_from(column(self.text, entry.key_span.start) + self.step).ok()?,
                step: u8::try_from(self.step).ok()?,
                crlf,
            },
        };
        let mut edit = insertion.edit(self.file, path, value);
        edit.span.end = map.span.end;
        Some(edit)
    }

    /// The fix that adds a missing hardening setting to the `container`
    /// mapping's `securityContext` (creating it, or `capabilities`, as
    /// needed). `None` if the setting is written already (a `null`, a value
    /// of another type: the user's to look at), or the API server would
    /// refuse the result.
    pub fn hardening(&self, container: &Node, setting: Hardening) -> Option<Fix> {
        self.hardening_under(container, "securityContext", setting)
    }

    /// [`Source::hardening`] for a security context written as `key`
    /// under `base`: a container's `securityContext`, or the values key a
    /// chart writes into one.
    pub fn hardening_under(&self, base: &Node, key: &str, setting: Hardening) -> Option<Fix> {
        use Applicability::{Safe, Unsafe};
        let capability = |name: &str| {
            let upper = name.trim().to_ascii_uppercase();
            upper
                .strip_prefix("CAP_")
                .map_or(upper.clone(), str::to_owned)
        };
        let listed = |list: Option<&Node>, wanted: &str| {
            list.and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .any(|name| capability(name) == wanted)
        };
        let capabilities = base.path(&[key, "capabilities"]);
        // `allowPrivilegeEscalation: false` beside `privileged: true` or
        // an added SYS_ADMIN is refused.
        if setting == Hardening::NoPrivilegeEscalation
            && (base.path(&[key, "privileged"]).and_then(Node::as_bool) == Some(true)
                || listed(capabilities.and_then(|c| c.get("add")), "SYS_ADMIN"))
        {
            return None;
        }
        let (path, value, applicability, title): (&[&str], &str, _, &str) = match setting {
            Hardening::NoPrivilegeEscalation => (
                &["allowPrivilegeEscalation"],
                "false",
                Safe,
                "add `allowPrivilegeEscalation: false` to the securityContext",
            ),
            Hardening::Seccomp => (
                &["seccompProfile", "type"],
                "RuntimeDefault",
                Safe,
                "add `seccompProfile: {type: RuntimeDefault}` to the securityContext",
            ),
            // Many images run as root or write to their root filesystem.
            Hardening::NonRoot => (
                &["runAsNonRoot"],
                "true",
                Unsafe,
                "add `runAsNonRoot: true` to the securityContext (the image must run as a non-root user)",
            ),
            Hardening::ReadOnlyRoot => (
                &["readOnlyRootFilesystem"],
                "true",
                Unsafe,
                "add `readOnlyRootFilesystem: true` to the securityContext (mount an emptyDir where the container writes)",
            ),
            // Images that start as root often need CHOWN, SETUID or
            // NET_BIND_SERVICE; raw sockets only ping-like tools use.
            Hardening::DropAll | Hardening::DropNetRaw => {
                let (name, applicability) = if setting == Hardening::DropAll {
                    ("ALL", Unsafe)
                } else {
                    ("NET_RAW", Safe)
                };
                let drop = capabilities.and_then(|c| c.get("drop"));
                // Listed already (a patch may replace the list in a build):
                // adding it again would change nothing.
                if listed(drop, name) || listed(drop, "ALL") {
                    return None;
                }
                let edit = match drop {
                    Some(list) => self.append_item(list, name)?,
                    None => self.insert_path(
                        base,
                        &[key, "capabilities", "drop"],
                        &format!("[{name}]"),
                    )?,
                };
                return Some(Fix {
                    applicability,
                    effect: Effect::Adds,
                    title: format!("add `{name}` to securityContext.capabilities.drop"),
                    edits: vec![edit],
                });
            }
        };
        let full: Vec<&str> = std::iter::once(key).chain(path.iter().copied()).collect();
        let edit = self.insert_path(base, &full, value)?;
        Some(Fix {
            applicability,
            effect: Effect::Adds,
            title: title.to_owned(),
            edits: vec![edit],
        })
    }

    /// Where a new key goes into the mapping `map`, and how it is written
    /// there: after the last entry's line at the entries' column (block),
    /// or before the closing brace (flow). `None` if the layout is not one
    /// this edits plainly.
    pub fn insertion(&self, map: &Node) -> Option<Insertion> {
        map.as_map()?;
        let bytes = self.text.as_bytes();
        let own: Vec<&Entry> = own_entries(map).collect();
        let last_end = own
            .iter()
            .map(|e| e.value.span.end.max(e.key_span.end))
            .max();
        if bytes.get(map.span.start as usize) == Some(&b'{') {
            let close = map.span.end.checked_sub(1)?;
            if bytes.get(close as usize) != Some(&b'}') {
                return None;
            }
            return Some(match last_end {
                Some(end) => Insertion {
                    at: end,
                    layout: Layout::FlowAfter,
                },
                None => Insertion {
                    at: close,
                    layout: Layout::FlowEmpty,
                },
            });
        }
        let first = own.first()?;
        let at_column = column(self.text, first.key_span.start);
        if own
            .iter()
            .any(|e| column(self.text, e.key_span.start) != at_column)
        {
            return None;
        }
        let (at, newline) = self.line_end(last_end?);
        Some(Insertion {
            at,
            layout: Layout::Block {
                column: u16::try_from(at_column).ok()?,
                step: u8::try_from(self.step).ok()?,
                crlf: newline == "\r\n",
            },
        })
    }

    /// Adds `item` (a YAML flow scalar) at the end of the sequence `list`.
    pub fn append_item(&self, list: &Node, item: &str) -> Option<Edit> {
        let items = list.as_seq()?;
        let bytes = self.text.as_bytes();
        if bytes.get(list.span.start as usize) == Some(&b'[') {
            let close = list.span.end.checked_sub(1)?;
            if bytes.get(close as usize) != Some(&b']') {
                return None;
            }
            return Some(match items.last() {
                Some(last) => self.edit(last.span.end, format!(", {item}")),
                None => self.edit(close, item.to_owned()),
            });
        }
        // A block sequence: the new item on its own line, its dash under
        // the first item's.
        let first = items.first()?;
        let start = first.span.start as usize;
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let prefix = &self.text[line_start..start];
        if prefix.trim() != "-" {
            return None;
        }
        let dash = prefix.find('-')?;
        let end = items.iter().map(|i| i.span.end).max()?;
        let (at, newline) = self.line_end(end);
        Some(self.edit(at, format!("{newline}{}- {item}", " ".repeat(dash))))
    }

    /// Where the line holding byte `end` ends (before its line break), and
    /// the line break the file uses there.
    fn line_end(&self, end: u32) -> (u32, &'static str) {
        let bytes = self.text.as_bytes();
        let mut at = end as usize;
        // A block scalar's span takes its last line break, and may reach
        // into the next line's indentation.
        while at > 0 && bytes[at - 1] == b' ' {
            at -= 1;
        }
        if at > 0 && bytes[at - 1] == b'\n' {
            at -= 1;
        } else {
            at = self.text[at..]
                .find('\n')
                .map_or(self.text.len(), |i| at + i);
        }
        if at > 0 && bytes[at - 1] == b'\r' {
            (at as u32 - 1, "\r\n")
        } else {
            (at as u32, "\n")
        }
    }

    fn edit(&self, at: u32, replacement: String) -> Edit {
        Edit {
            file: self.file,
            span: Span { start: at, end: at },
            replacement,
        }
    }
}

/// Where a key goes into a mapping, and how it is written there: a few
/// bytes, so an index can keep one per workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insertion {
    at: u32,
    layout: Layout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// On a new line at `column`, nested levels `step` further in.
    Block { column: u16, step: u8, crlf: bool },
    /// `, key: value` after the last entry of a flow mapping.
    FlowAfter,
    /// `key: value` inside `{}`.
    FlowEmpty,
}

impl Insertion {
    /// The edit that writes `path` (nested keys) with `value` here.
    pub fn edit(&self, file: FileId, path: &[&str], value: &str) -> Edit {
        let replacement = match self.layout {
            Layout::FlowAfter => format!(", {}", flow(path, value)),
            Layout::FlowEmpty => flow(path, value),
            Layout::Block { column, step, crlf } => {
                let newline = if crlf { "\r\n" } else { "\n" };
                let mut text = String::new();
                for (level, key) in path.iter().enumerate() {
                    text.push_str(newline);
                    text.push_str(&" ".repeat(column as usize + level * step as usize));
                    text.push_str(key);
                    text.push(':');
                }
                text.push(' ');
                text.push_str(value);
                text
            }
        };
        Edit {
            file,
            span: Span {
                start: self.at,
                end: self.at,
            },
            replacement,
        }
    }
}

/// `a: {b: value}` for the path `[a, b]`.
fn flow(path: &[&str], value: &str) -> String {
    match path.split_first() {
        Some((key, [])) => format!("{key}: {value}"),
        Some((key, rest)) => format!("{key}: {{{}}}", flow(rest, value)),
        None => value.to_owned(),
    }
}

/// The entries written inside the mapping itself (not merged in with
/// `<<` from elsewhere).
fn own_entries(map: &Node) -> impl Iterator<Item = &Entry> {
    map.as_map()
        .unwrap_or_default()
        .iter()
        .filter(move |e| map.span.start <= e.key_span.start && e.key_span.end <= map.span.end)
}

fn is_block_map(text: &str, node: &Node) -> bool {
    node.as_map().is_some_and(|m| !m.is_empty())
        && text.as_bytes().get(node.span.start as usize) != Some(&b'{')
}

/// The column (in bytes; indentation is spaces) of byte `at`.
fn column(text: &str, at: u32) -> usize {
    let at = at as usize;
    at - text[..at].rfind('\n').map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(text: &str, path: &[&str], value: &str) -> Option<String> {
        let stream = crate::yaml::parse_stream(text, crate::yaml::Limits::default());
        let root = &stream.documents[0].root;
        let source = Source::new(FileId(0), text, root);
        let container = root.pointer("/spec/containers/0")?;
        let edit = source.insert_path(container, path, value)?;
        let mut out = text.to_owned();
        out.replace_range(
            edit.span.start as usize..edit.span.end as usize,
            &edit.replacement,
        );
        Some(out)
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n    name: web\nspec:\n    containers:\n    - name: web # the server\n      image: nginx\n";

    #[test]
    fn adds_a_block_at_the_files_indentation() {
        assert_eq!(
            insert(
                POD,
                &["securityContext", "allowPrivilegeEscalation"],
                "false"
            )
            .unwrap(),
            "apiVersion: v1\nkind: Pod\nmetadata:\n    name: web\nspec:\n    containers:\n    - name: web # the server\n      image: nginx\n      securityContext:\n          allowPrivilegeEscalation: false\n"
        );
    }

    #[test]
    fn completes_an_existing_mapping_block_or_flow() {
        let block = POD.replace(
            "image: nginx\n",
            "image: nginx\n      securityContext:\n        runAsNonRoot: true\n",
        );
        assert_eq!(
            insert(
                &block,
                &["securityContext", "seccompProfile", "type"],
                "RuntimeDefault"
            )
            .unwrap(),
            block.replace(
                "runAsNonRoot: true\n",
                "runAsNonRoot: true\n        seccompProfile:\n            type: RuntimeDefault\n"
            )
        );
        let flow = POD.replace(
            "image: nginx\n",
            "image: nginx\n      securityContext: {runAsNonRoot: true}\n",
        );
        assert_eq!(
            insert(&flow, &["securityContext", "capabilities", "drop"], "[ALL]").unwrap(),
            flow.replace(
                "{runAsNonRoot: true}",
                "{runAsNonRoot: true, capabilities: {drop: [ALL]}}"
            )
        );
        // An empty `{}` (as Helm renders one) becomes a block; inside a
        // flow mapping it stays flow.
        for written in [" {}", "\n        {}"] {
            let empty = POD.replace(
                "image: nginx\n",
                &format!("image: nginx\n      securityContext:{written}\n"),
            );
            assert_eq!(
                insert(&empty, &["securityContext", "runAsNonRoot"], "true").unwrap(),
                POD.replace(
                    "image: nginx\n",
                    "image: nginx\n      securityContext:\n          runAsNonRoot: true\n"
                )
            );
        }
        let in_flow = POD.replace(
            "image: nginx\n",
            "image: nginx\n      resources: {limits: {}}\n",
        );
        let stream = crate::yaml::parse_stream(&in_flow, crate::yaml::Limits::default());
        let root = &stream.documents[0].root;
        let edit = Source::new(FileId(0), &in_flow, root)
            .insert_path(
                root.pointer("/spec/containers/0").unwrap(),
                &["resources", "limits", "memory"],
                "1Gi",
            )
            .unwrap();
        assert_eq!(edit.replacement, "memory: 1Gi");
    }

    #[test]
    fn keeps_crlf_line_breaks() {
        let crlf = POD.replace('\n', "\r\n");
        assert_eq!(
            insert(&crlf, &["securityContext", "runAsNonRoot"], "true").unwrap(),
            format!("{crlf}      securityContext:\r\n          runAsNonRoot: true\r\n")
        );
    }

    #[test]
    fn goes_after_a_block_scalar_not_into_the_next_line() {
        for scalar in ["|", ">-", "|+"] {
            let text = POD.replace(
                "image: nginx\n",
                &format!("image: nginx\n      command:\n      - {scalar}\n        echo hi\n    volumes: []\n"),
            );
            let fixed = insert(&text, &["securityContext", "runAsNonRoot"], "true").unwrap();
            assert!(
                fixed.contains("        echo hi\n      securityContext:\n          runAsNonRoot: true\n    volumes: []"),
                "{scalar}: {fixed}"
            );
        }
    }

    #[test]
    fn leaves_a_written_key_alone() {
        let written = POD.replace(
            "image: nginx\n",
            "image: nginx\n      securityContext:\n        runAsNonRoot:\n",
        );
        assert_eq!(
            insert(&written, &["securityContext", "runAsNonRoot"], "true"),
            None
        );
        let not_a_map = POD.replace(
            "image: nginx\n",
            "image: nginx\n      securityContext: []\n",
        );
        assert_eq!(
            insert(&not_a_map, &["securityContext", "runAsNonRoot"], "true"),
            None
        );
    }

    #[test]
    fn appends_to_block_and_flow_lists() {
        for (list, expected) in [
            ("drop: [NET_RAW]", "drop: [NET_RAW, ALL]"),
            ("drop: []", "drop: [ALL]"),
            (
                "drop:\n          - NET_RAW # raw sockets",
                "drop:\n          - NET_RAW # raw sockets\n          - ALL",
            ),
        ] {
            let text = POD.replace(
                "image: nginx\n",
                &format!("image: nginx\n      securityContext:\n        capabilities:\n          {list}\n"),
            );
            let stream = crate::yaml::parse_stream(&text, crate::yaml::Limits::default());
            let root = &stream.documents[0].root;
            let source = Source::new(FileId(0), &text, root);
            let drop = root
                .pointer("/spec/containers/0/securityContext/capabilities/drop")
                .unwrap();
            let edit = source.append_item(drop, "ALL").unwrap();
            let mut out = text.clone();
            out.replace_range(
                edit.span.start as usize..edit.span.end as usize,
                &edit.replacement,
            );
            assert_eq!(out, text.replace(list, expected));
        }
    }
}
