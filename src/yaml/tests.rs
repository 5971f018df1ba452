use super::*;
use serde_json::json;

fn load(text: &str) -> Stream {
    parse_stream(text, Limits::default())
}

fn one(text: &str) -> Node {
    let mut stream = load(text);
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    assert_eq!(stream.documents.len(), 1);
    stream.documents.remove(0).root
}

fn text_at(text: &str, span: Span) -> &str {
    &text[span.start as usize..span.end as usize]
}

#[test]
fn values_as_kubernetes_reads_them() {
    let root = one("a: on\nb: 0644\nc: '0644'\nd: 1e3\non: x\ne: !!str 12\nf: ~\ng: [1, yes]\n");
    assert_eq!(
        root.to_json(),
        json!({"a": true, "b": 420, "c": "0644", "d": 1000, "true": "x", "e": "12", "f": null, "g": [1, true]})
    );
}

/// Merges apply in order, as go-yaml v2 decodes them: a merge overrides
/// the keys above it, keys below it override the merge, and in a list of
/// mappings the earlier ones win. Only two written keys are duplicates.
#[test]
fn merge_keys_apply_in_order() {
    let text = "a: &a {p: 1, q: 1}\nb: &b {p: 2, r: 2}\nm:\n  p: 0\n  <<: *a\n  q: 9\nk:\n  <<: [*a, *b]\n";
    let stream = load(text);
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    let root = &stream.documents[0].root;
    assert_eq!(root.get("m").unwrap().to_json(), json!({"p": 1, "q": 9}));
    assert_eq!(
        root.get("k").unwrap().to_json(),
        json!({"p": 1, "q": 1, "r": 2})
    );
    assert!(stream.documents[0].duplicate_keys.is_empty());
}

/// NEL, LS and PS break a quoted scalar's line as libyaml (and kubectl)
/// reads them: NEL folds to a space, LS and PS stay; the blanks around
/// them go.
#[test]
fn yaml_11_line_breaks_in_quoted_scalars() {
    let text = "a: \"x  \u{85}  y\"\nb: 'x\u{85}\u{85} y'\nc: \"x \u{2028} y\"\nd: 'x\u{2029}\u{2029}y'\ne: \"x\u{85}y\"\n";
    let root = one(text);
    assert_eq!(
        root.to_json(),
        json!({"a": "x y", "b": "x\ny", "c": "x\u{2028}y", "d": "x\u{2029}\u{2029}y", "e": "x y"})
    );
    let b = root.entry("b").unwrap();
    assert_eq!(text_at(text, b.value.span), "'x\u{85}\u{85} y'");
}

#[test]
fn spans_are_bytes_after_multibyte_text() {
    let text = "é: ü\nkey: value\nlist:\n  - \"quoted\"\n";
    let root = one(text);
    let entry = root.entry("key").unwrap();
    assert_eq!(text_at(text, entry.key_span), "key");
    assert_eq!(text_at(text, entry.value.span), "value");
    let item = &root.get("list").unwrap().as_seq().unwrap()[0];
    assert_eq!(text_at(text, item.span), "\"quoted\"");
    assert_eq!(root.pointer("/list/0").unwrap().as_str(), Some("quoted"));
}

#[test]
fn multi_document_streams_survive_a_broken_document() {
    let text = "a: 1\n---\nb: [unclosed\n---\nc: 3\n...\n---\n# only a comment\n";
    let stream = load(text);
    let roots: Vec<_> = stream.documents.iter().map(|d| d.root.to_json()).collect();
    assert_eq!(roots, vec![json!({"a": 1}), json!({"c": 3}), json!(null)]);
    assert_eq!(stream.errors.len(), 1);
    let error = &stream.errors[0];
    assert!(error.span.start as usize >= text.find("b:").unwrap());
    assert!((error.span.start as usize) < text.find("c:").unwrap());
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let text = "base: &base\n  x: 1\n  w: 2\nother: &o {z: 3}\nmerged:\n  <<: [*base, *o]\n  w: 20\ncopy: *base\n";
    let root = one(text);
    assert_eq!(
        root.get("merged").unwrap().to_json(),
        json!({"x": 1, "z": 3, "w": 20})
    );
    assert_eq!(root.get("copy").unwrap().to_json(), json!({"x": 1, "w": 2}));
    // A merged value points at the anchor's definition, where a user edits it.
    let x = root.pointer("/merged/x").unwrap();
    assert_eq!(x.span, root.pointer("/base/x").unwrap().span);
}

#[test]
fn duplicate_keys_keep_the_last_and_are_recorded() {
    let text = "a: 1\nb: 2\na: 3\n";
    let stream = load(text);
    let document = &stream.documents[0];
    assert_eq!(document.root.to_json(), json!({"b": 2, "a": 3}));
    assert_eq!(
        document.duplicate_keys,
        vec![(Span::new(0, 1), Span::new(10, 11))]
    );
}

#[test]
fn alias_bomb_is_an_error_not_an_allocation() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let stream = load(&text);
    assert!(stream.documents.is_empty());
    assert!(
        stream.errors[0].message.contains("alias bomb"),
        "{:?}",
        stream.errors
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let block: String = (0..10_000)
        .map(|i| format!("{}- \n", "  ".repeat(i)))
        .collect();
    let flow = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for text in [block, flow] {
        let stream = load(&text);
        assert!(stream.documents.is_empty());
        assert_eq!(stream.errors.len(), 1);
    }
}

#[test]
fn flow_and_block_collection_spans() {
    let text = "m: {a: 1}\ns:\n  - 1\n  - 2\n";
    let root = one(text);
    assert_eq!(text_at(text, root.get("m").unwrap().span), "{a: 1}");
    assert_eq!(text_at(text, root.get("s").unwrap().span), "- 1\n  - 2");
}

#[test]
fn directives_and_empty_streams() {
    assert!(load("").documents.is_empty());
    assert!(load("# comment\n").documents.is_empty());
    // Kubernetes cuts the stream at `---` first: a directive is left at
    // the end of the text before, where its decoder rejects it.
    let stream = load("a: 1\n%YAML 1.1\n---\nb: 2\n");
    assert_eq!(stream.errors.len(), 1, "{:?}", stream.errors);
    assert_eq!(stream.documents.len(), 1);
    let stream = load("%YAML 1.1\n---\nb: 2\n");
    assert_eq!(stream.errors.len(), 1, "{:?}", stream.errors);
    assert!(stream.errors[0].message.contains("directive"));
    assert_eq!(stream.errors[0].span, Span::new(0, 9));
    assert_eq!(stream.documents.len(), 1);
}

#[test]
fn quoted_continuation_lines_may_be_indented_less_as_kubernetes_reads_them() {
    // go-yaml v2 (libyaml) reads this as `--a --b`; YAML 1.2 forbids it.
    for quote in ['"', '\''] {
        let escape = if quote == '"' { " \\" } else { "" };
        let text = format!(
            "spec:\n  containers:\n    - args:\n        - {quote}--a{escape}\n      --b{quote}\n      securityContext: {{privileged: true}}\n"
        );
        let stream = load(&text);
        assert!(stream.errors.is_empty(), "{quote}: {:?}", stream.errors);
        let root = &stream.documents[0].root;
        let arg = root.pointer("/spec/containers/0/args/0").unwrap();
        assert_eq!(arg.as_str(), Some("--a --b"), "{quote}");
        assert_eq!(
            text_at(&text, arg.span),
            format!("{quote}--a{escape}\n      --b{quote}")
        );
        let privileged = root.pointer("/spec/containers/0/securityContext/privileged");
        assert_eq!(privileged.and_then(Node::as_bool), Some(true));
    }
}

#[test]
fn a_quoted_scalar_ends_at_its_closing_quote() {
    let text = "image: \"nginx:latest\"   # pinned later\ntag: 'x' #c\n";
    let root = one(text);
    assert_eq!(
        text_at(text, root.get("image").unwrap().span),
        "\"nginx:latest\""
    );
    assert_eq!(text_at(text, root.get("tag").unwrap().span), "'x'");
}

#[test]
fn streams_are_cut_as_kubernetes_cuts_them() {
    // `---#c` separates; the text after a `...` in the same part is never
    // decoded; `--- !!map` and a part that opens with `...` are rejected.
    let stream = load("a: 1\n---#c\nb: y\n...\nghost: 1\n---\nc: 3\n");
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    let roots: Vec<_> = stream.documents.iter().map(|d| d.root.to_json()).collect();
    assert_eq!(roots.len(), 3, "{roots:?}");
    assert_eq!(roots[1], json!({"b": true}));
    assert_eq!(roots[2], json!({"c": 3}));
    let stream = load("a: 1\n--- !!map\nb: 2\n---\n...\nc: 3\n");
    assert_eq!(stream.documents.len(), 1);
    assert_eq!(stream.errors.len(), 2, "{:?}", stream.errors);
    assert!(stream.errors[0].message.contains("`!!map` after a `---`"));
    assert_eq!(stream.errors[0].span, Span::new(5, 14));
    // A long line is named by its start only.
    let long = format!("---{}\nb: 2\n", " x".repeat(10_000));
    let stream = load(&long);
    assert!(
        stream.errors[0].message.len() < 200,
        "{}",
        stream.errors[0].message
    );
}
