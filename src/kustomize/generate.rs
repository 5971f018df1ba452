//! `configMapGenerator` and `secretGenerator`, and the content hash that
//! kustomize appends to generated names.

use super::res::{self, Behavior, Res, made, string};
use super::{Error, Kustomization, Sources, restricted};
use crate::tree::ReadError;
use crate::yaml::{Entry, Node, Span, Value};
use base64::Engine as _;
use sha2::Digest as _;

/// Runs the kustomization's generators: every ConfigMap, then every Secret.
pub(super) fn run(
    k: &Kustomization,
    sources: &mut Sources,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    let options = k.field("generatorOptions");
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for entry in k.field(field).and_then(Node::as_seq).unwrap_or_default() {
            let generated = generate(k, sources, entry, kind, options)?;
            absorb(resources, generated, entry.span)?;
        }
    }
    Ok(())
}

fn generate(
    k: &Kustomization,
    sources: &mut Sources,
    entry: &Node,
    kind: &str,
    global: Option<&Node>,
) -> Result<Res, Error> {
    let span = entry.span;
    let name = res::str_at(entry, &["name"])
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::invalid(format!("a {kind} generator needs a `name`"), span))?;
    let mut pairs: Vec<(String, Content, Span)> = Vec::new();
    let mut envs: Vec<&Node> = entry
        .get("envs")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .collect();
    if let Some(env) = entry.get("env") {
        envs.push(env);
    }
    for env in envs {
        let file = restricted(&k.dir, env.as_str().unwrap_or(""), env.span)?;
        let (base, text) = sources.read(&file).map_err(|e| {
            Error::invalid(format!("cannot read {}: {e}", file.display()), env.span)
        })?;
        let mut offset = 0usize;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let start = base + offset;
            offset += line.len();
            let mut content = line.trim_end_matches(['\n', '\r']);
            if i == 0 {
                content = content.trim_start_matches('\u{feff}');
            }
            let content = content.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let (key, value) = content.split_once('=').unwrap_or((content, ""));
            pairs.push((
                key.to_owned(),
                Content::Text(value.to_owned()),
                Span::new(start, start + line.len()),
            ));
        }
    }
    for literal in entry
        .get("literals")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let text = literal.as_str().unwrap_or("");
        let Some((key, value)) = text.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::invalid(
                format!("`{text}` is not a KEY=VALUE literal"),
                literal.span,
            ));
        };
        pairs.push((
            key.to_owned(),
            Content::Text(strip_quotes(value).to_owned()),
            literal.span,
        ));
    }
    for file in entry
        .get("files")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let text = file.as_str().unwrap_or("");
        let (key, path) = match text.split_once('=') {
            Some((key, path)) => (key.to_owned(), path),
            None => (
                std::path::Path::new(text)
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                text,
            ),
        };
        let resolved = restricted(&k.dir, path, file.span)?;
        // Too large, or outside the tree: no tool may read it either.
        let unreadable = |e: ReadError| {
            Error::invalid(format!("`{path}` cannot be read: {}", e.why()), file.span)
        };
        match sources.read(&resolved) {
            Ok((base, content)) => pairs.push((
                key,
                Content::Text(content.to_owned()),
                Span::new(base, base + content.len()),
            )),
            // Kept as bytes, as kustomize does: base64 in the object, and
            // the entry's line stands for the content.
            Err(ReadError::NotUtf8) => pairs.push((
                key,
                Content::Bytes(sources.read_bytes(&resolved).map_err(unreadable)?),
                file.span,
            )),
            Err(other) => return Err(unreadable(other)),
        }
    }
    for (i, (key, _, span)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _, _)| k == key) {
            return Err(Error::invalid(
                format!("the {kind} {name} repeats the key `{key}`"),
                *span,
            ));
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));

    let local = entry.get("options");
    let option = |key: &str| {
        local.and_then(|o| o.get(key)).and_then(Node::as_bool) == Some(true)
            || global.and_then(|o| o.get(key)).and_then(Node::as_bool) == Some(true)
    };
    let mut node = made(Value::Map(Vec::new()), span);
    res::set(&mut node, "apiVersion", string("v1", span));
    res::set(&mut node, "kind", string(kind, span));
    let mut metadata = made(Value::Map(Vec::new()), span);
    res::set(&mut metadata, "name", string(name, span));
    if let Some(namespace) = entry.get("namespace").filter(|n| !n.is_null()) {
        res::set(&mut metadata, "namespace", namespace.clone());
    }
    for field in ["labels", "annotations"] {
        let mut merged: Vec<(String, Node)> = Vec::new();
        for source in [local, global].into_iter().flatten() {
            for e in source.get(field).and_then(Node::as_map).unwrap_or_default() {
                if !merged.iter().any(|(k, _)| *k == e.key) {
                    merged.push((
                        e.key.clone(),
                        string(&super::res::value_text(&e.value), e.value.span),
                    ));
                }
            }
        }
        if !merged.is_empty() {
            merged.sort_by(|a, b| a.0.cmp(&b.0));
            let mut map = made(Value::Map(Vec::new()), span);
            for (k, v) in merged {
                res::set(&mut map, &k, v);
            }
            res::set(&mut metadata, field, map);
        }
    }
    res::set(&mut node, "metadata", metadata);
    if kind == "Secret" {
        let secret_type = res::str_at(entry, &["type"]).unwrap_or("Opaque");
        res::set(&mut node, "type", string(secret_type, span));
    }
    // A Secret holds every value in base64; a ConfigMap holds text as it
    // is and other bytes in base64 under `binaryData`.
    let entry_of = |key: &str, value: String, span: Span| Entry {
        key: key.to_owned(),
        key_span: span,
        value: string(&value, span),
    };
    let mut data = Vec::new();
    let mut binary_data = Vec::new();
    for (key, content, span) in &pairs {
        match (kind, content) {
            ("Secret", Content::Text(text)) => {
                data.push(entry_of(key, encode_base64(text.as_bytes()), *span))
            }
            ("Secret", Content::Bytes(bytes)) => {
                data.push(entry_of(key, encode_base64(bytes), *span))
            }
            (_, Content::Text(text)) => data.push(entry_of(key, text.clone(), *span)),
            (_, Content::Bytes(bytes)) => {
                binary_data.push(entry_of(key, encode_base64(bytes), *span))
            }
        }
    }
    if kind == "Secret" || !data.is_empty() {
        res::set(&mut node, "data", made(Value::Map(data), span));
    }
    if !binary_data.is_empty() {
        res::set(&mut node, "binaryData", made(Value::Map(binary_data), span));
    }
    if option("immutable") {
        res::set(&mut node, "immutable", made(Value::Bool(true), span));
    }
    let mut generated = Res::new(node);
    generated.needs_hash = !option("disableNameSuffixHash");
    generated.behavior = match res::str_at(entry, &["behavior"]).unwrap_or("") {
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        _ => Behavior::Create,
    };
    Ok(generated)
}

/// A generated value: text, or the bytes of a file that is not UTF-8.
enum Content {
    Text(String),
    Bytes(Vec<u8>),
}

/// One pair of surrounding quotes, as kustomize strips from literals.
fn strip_quotes(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// Base64 as kustomize writes Secret data: lines of 70 characters, each
/// ending in a newline, once the text reaches 70.
fn encode_base64(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < 70 {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 70 + 1);
    for chunk in encoded.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

/// Adds a generated object, merging into or replacing one with its id when
/// its behavior says so.
fn absorb(resources: &mut Vec<Res>, generated: Res, span: Span) -> Result<(), Error> {
    let id = generated.id();
    let matches: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ids().any(|i| i == id))
        .map(|(i, _)| i)
        .collect();
    match (matches.as_slice(), generated.behavior) {
        ([], Behavior::Create) => {
            resources.push(generated);
            Ok(())
        }
        ([], _) => Err(Error::invalid(
            format!(
                "{} {} does not exist, so it cannot be merged or replaced",
                id.kind, id.name
            ),
            span,
        )),
        ([_], Behavior::Create) => Err(Error::invalid(
            format!(
                "{} {} already exists; use `behavior: merge` or `replace`",
                id.kind, id.name
            ),
            span,
        )),
        ([at], behavior) => {
            let old = resources[*at].clone();
            let mut new = generated;
            // Metadata from the old object: its name and namespace, and its
            // labels and annotations under the new ones.
            let metadata_span = new.node.span;
            let old_meta = old.node.get("metadata").cloned();
            if let Some(meta) = res::get_mut(&mut new.node, "metadata")
                && let Some(old_meta) = &old_meta
            {
                {
                    for key in ["name", "namespace"] {
                        match old_meta.get(key) {
                            Some(v) => res::set(meta, key, v.clone()),
                            None => {
                                res::remove(meta, key);
                            }
                        }
                    }
                    for field in ["labels", "annotations"] {
                        if let Some(old_values) = old_meta.get(field).and_then(Node::as_map) {
                            let map = res::mapping_at(meta, field, metadata_span)?;
                            for e in old_values {
                                if map.get(&e.key).is_none() {
                                    res::set(map, &e.key, e.value.clone());
                                }
                            }
                        }
                    }
                }
            }
            if behavior == Behavior::Merge {
                for field in ["data", "binaryData"] {
                    if let Some(old_data) = old.node.get(field).and_then(Node::as_map) {
                        let map = res::mapping_at(&mut new.node, field, metadata_span)?;
                        for e in old_data {
                            if map.get(&e.key).is_none() {
                                res::set(map, &e.key, e.value.clone());
                            }
                        }
                        if let Value::Map(entries) = &mut map.value {
                            entries.sort_by(|a, b| a.key.cmp(&b.key));
                        }
                    }
                }
            }
            new.needs_hash = old.needs_hash && new.needs_hash;
            new.previous = old.previous;
            new.prefixes = old.prefixes;
            new.suffixes = old.suffixes;
            new.behavior = Behavior::Create;
            resources[*at] = new;
            Ok(())
        }
        _ => Err(Error::invalid(
            format!(
                "several objects could take the merge of {} {}",
                id.kind, id.name
            ),
            span,
        )),
    }
}

/// Appends the content hash to generated names, once, after every
/// transformer of the build.
pub(super) fn add_hashes(resources: &mut [Res]) {
    for r in resources.iter_mut().filter(|r| r.needs_hash) {
        let hash = content_hash(&r.node);
        r.store_previous();
        let name = format!("{}-{hash}", r.name());
        let span = r
            .node
            .path(&["metadata", "name"])
            .map_or(r.node.span, |n| n.span);
        if let Some(metadata) = res::get_mut(&mut r.node, "metadata") {
            res::set(metadata, "name", string(&name, span));
        }
    }
}

/// Kustomize's hash: SHA-256 of Go's JSON for kind, name (always empty, a
/// quirk of kustomize), data and type, first ten hex digits with some
/// replaced so no bad words appear.
pub fn content_hash(node: &Node) -> String {
    let kind = res::str_at(node, &["kind"]).unwrap_or("");
    let mut fields: Vec<(&str, String)> = vec![("kind", go_string(kind)), ("name", go_string(""))];
    let map_or_empty = |key: &str| node.get(key).and_then(Node::as_map).map(go_map);
    if kind == "Secret" {
        fields.push((
            "data",
            map_or_empty("data").unwrap_or_else(|| go_string("")),
        ));
        fields.push((
            "type",
            go_string(res::str_at(node, &["type"]).unwrap_or("")),
        ));
        if let Some(string_data) = map_or_empty("stringData") {
            fields.push(("stringData", string_data));
        }
    } else {
        fields.push((
            "data",
            map_or_empty("data").unwrap_or_else(|| go_string("")),
        ));
        if let Some(binary) = map_or_empty("binaryData") {
            fields.push(("binaryData", binary));
        }
    }
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let json = format!(
        "{{{}}}",
        fields
            .iter()
            .map(|(k, v)| format!("{}:{v}", go_string(k)))
            .collect::<Vec<_>>()
            .join(",")
    );
    let digest = sha2::Sha256::digest(json.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

fn go_map(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    format!(
        "{{{}}}",
        sorted
            .iter()
            .map(|e| format!(
                "{}:{}",
                go_string(&e.key),
                go_string(&super::res::value_text(&e.value))
            ))
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// A JSON string as Go's encoding/json writes it (HTML characters escaped).
fn go_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse_stream};

    fn hash(text: &str) -> String {
        content_hash(&parse_stream(text, Limits::default()).documents[0].root)
    }

    #[test]
    fn hashes_match_kustomize() {
        // Values `kubectl kustomize` (v5.5.0) gives for these objects.
        assert_eq!(hash("kind: ConfigMap\ndata: {a: b}\n"), "4h2mbtbbt6");
        assert_eq!(hash("kind: ConfigMap\n"), "6ct58987ht");
        assert_eq!(
            hash("kind: Secret\ntype: Opaque\ndata: {a: Yg==}\n"),
            "k695gkmbtk"
        );
        assert_eq!(hash("kind: Secret\ntype: Opaque\ndata: {}\n"), "46f8b28mk5");
        // Go escapes <, > and & in JSON, so the hash input must too.
        assert_eq!(
            hash("kind: ConfigMap\ndata: {a: \"<a&b>\"}\n"),
            "ch7g7m2m7b"
        );
    }
}
