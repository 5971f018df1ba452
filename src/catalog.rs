//! The rule catalog: metadata parsed from the front matter of
//! `rules/<id>.md`, which each rule binds at compile time.

use crate::diagnostic::Severity;
use crate::yaml::{self, Node};
use std::sync::LazyLock;

/// A rule's catalog entry.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    /// Kebab-case id.
    pub id: &'static str,
    /// `pod-security`, `rbac`, `namespace` or `manifest`.
    pub category: String,
    /// Default severity.
    pub severity: Severity,
    /// On without configuration.
    pub default_enabled: bool,
    /// One sentence stating the problem.
    pub summary: String,
    /// The fix its findings carry: `None` for none, else how safe it is.
    pub fix: Option<crate::diagnostic::Applicability>,
    /// Reference links.
    pub references: Vec<String>,
    /// The whole Markdown file.
    pub doc: &'static str,
    /// The Markdown after the front matter.
    pub body: &'static str,
}

impl RuleMeta {
    /// The Markdown under a `## heading`, trimmed.
    pub fn section(&self, heading: &str) -> Option<&'static str> {
        section(self.body, heading)
    }

    /// The link to the rule's catalog page.
    pub fn url(&self) -> String {
        format!(
            "{}/blob/main/rules/{}.md",
            env!("CARGO_PKG_REPOSITORY"),
            self.id
        )
    }
}

/// The text under `## heading` up to the next `## `.
pub fn section<'a>(body: &'a str, heading: &str) -> Option<&'a str> {
    let marker = format!("## {heading}\n");
    let start = body.find(&marker)? + marker.len();
    let rest = &body[start..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    Some(rest[..end].trim())
}

/// Parses a catalog file. Errors name the problem; the catalog test shows
/// them, so a malformed file never reaches a user.
pub fn parse(id: &'static str, doc: &'static str) -> Result<RuleMeta, String> {
    let rest = doc
        .strip_prefix("---\n")
        .ok_or("the file must start with a `---` front matter line")?;
    let end = rest
        .find("\n---\n")
        .ok_or("the front matter has no closing `---` line")?;
    let (front, body) = (&rest[..end + 1], &rest[end + 5..]);
    let stream = yaml::parse_stream(front, yaml::Limits::default());
    if let Some(error) = stream.errors.first() {
        return Err(format!("front matter: {}", error.message));
    }
    let root = stream
        .documents
        .first()
        .map(|d| &d.root)
        .ok_or("empty front matter")?;
    let text = |key: &str| {
        root.get(key)
            .and_then(Node::as_str)
            .ok_or(format!("front matter needs a string `{key}`"))
    };
    if text("id")? != id {
        return Err(format!(
            "front matter id {:?} does not match the file name {id:?}",
            text("id")?
        ));
    }
    let references = root
        .get("references")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    Ok(RuleMeta {
        id,
        category: text("category")?.to_owned(),
        severity: text("severity")?.parse()?,
        default_enabled: root
            .get("default")
            .and_then(Node::as_bool)
            .ok_or("front matter needs a boolean `default`")?,
        summary: text("summary")?.to_owned(),
        fix: match text("fix")? {
            "none" => None,
            "safe" => Some(crate::diagnostic::Applicability::Safe),
            "unsafe" => Some(crate::diagnostic::Applicability::Unsafe),
            other => return Err(format!("`fix` is {other:?}: expected none, safe or unsafe")),
        },
        references,
        doc,
        body,
    })
}

/// Every rule's metadata, in registry order.
pub static CATALOG: LazyLock<Vec<RuleMeta>> = LazyLock::new(|| {
    crate::rules::RULES
        .iter()
        .map(|rule| {
            parse(rule.id(), rule.doc()).unwrap_or_else(|e| panic!("rules/{}.md: {e}", rule.id()))
        })
        .collect()
});

/// The metadata of a rule id: a built-in rule, or a custom rule of the
/// config loaded last.
pub fn meta(id: &str) -> Option<&'static RuleMeta> {
    CATALOG.iter().find(|m| m.id == id).or_else(|| {
        CUSTOM
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .find(|m| m.id == id)
    })
}

/// Every rule: the built-in ones, then the custom rules of the config
/// loaded last.
pub fn all() -> Vec<&'static RuleMeta> {
    let custom = CUSTOM.read().unwrap_or_else(|e| e.into_inner());
    CATALOG.iter().chain(custom.iter().copied()).collect()
}

/// Whether a rule id names a rule (built-in or custom).
pub fn known(id: &str) -> bool {
    meta(id).is_some()
}

/// The custom rules of the config loaded last.
static CUSTOM: std::sync::RwLock<Vec<&'static RuleMeta>> = std::sync::RwLock::new(Vec::new());

/// Interned strings: ids and docs of custom rules live as long as the
/// process (rules and reports hold them as `&'static str`); interning keeps
/// a long-running server from growing when it reloads the same config.
static INTERNED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

/// `text` as a `&'static str`, the same one each time.
pub fn intern(text: &str) -> &'static str {
    let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = interned.iter().find(|s| **s == text) {
        return found;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    interned.push(leaked);
    leaked
}

/// A custom rule as the catalog lists it.
pub struct CustomEntry {
    /// Its id.
    pub id: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// One sentence stating the problem.
    pub summary: String,
    /// Its page, in the catalog's shape (front matter, then Markdown).
    pub doc: String,
}

/// Makes custom rules known to reports, suppressions, `kslint rules` and
/// `kslint explain`, replacing those of an earlier config.
pub fn register_custom(entries: Vec<CustomEntry>) {
    static METAS: std::sync::Mutex<Vec<&'static RuleMeta>> = std::sync::Mutex::new(Vec::new());
    let mut metas = METAS.lock().unwrap_or_else(|e| e.into_inner());
    let mut registered = Vec::new();
    for entry in entries {
        let doc = intern(&entry.doc);
        let meta = match metas.iter().find(|m| m.doc == doc) {
            Some(meta) => *meta,
            None => {
                let body = doc.split_once("\n---\n").map_or("", |(_, b)| b);
                let meta: &'static RuleMeta = Box::leak(Box::new(RuleMeta {
                    id: entry.id,
                    category: "custom".to_owned(),
                    severity: entry.severity,
                    default_enabled: true,
                    summary: entry.summary,
                    fix: None,
                    references: Vec::new(),
                    doc,
                    body,
                }));
                metas.push(meta);
                meta
            }
        };
        registered.push(meta);
    }
    *CUSTOM.write().unwrap_or_else(|e| e.into_inner()) = registered;
}

/// The rule id closest to `id`, for "did you mean" messages.
pub fn suggest(id: &str) -> Option<&'static str> {
    crate::spelling::nearest(id, CATALOG.iter().map(|m| m.id))
}

/// The rule list as an aligned table, Markdown, or JSON.
pub fn listing(markdown: bool, json: bool) -> String {
    if json {
        let rules: Vec<serde_json::Value> = all()
            .iter()
            .map(|m| serde_json::json!({"id": m.id, "category": m.category, "severity": m.severity, "default": m.default_enabled, "summary": m.summary}))
            .collect();
        return serde_json::to_string_pretty(&rules).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    if markdown {
        out.push_str("| id | category | severity | default | summary |\n|---|---|---|---|---|\n");
        for m in all() {
            let on = if m.default_enabled { "on" } else { "off" };
            out.push_str(&format!(
                "| [{0}]({0}.md) | {1} | {2} | {on} | {3} |\n",
                m.id, m.category, m.severity, m.summary
            ));
        }
        return out;
    }
    let width = all().iter().map(|m| m.id.len()).max().unwrap_or(0);
    out.push_str(&format!(
        "{:width$}  {:12}  {:8}  {:7}  SUMMARY\n",
        "ID", "CATEGORY", "SEVERITY", "DEFAULT"
    ));
    for m in all() {
        let on = if m.default_enabled { "on" } else { "off" };
        out.push_str(&format!(
            "{:width$}  {:12}  {:8}  {:7}  {}\n",
            m.id,
            m.category,
            m.severity.as_str(),
            on,
            m.summary
        ));
    }
    out
}
