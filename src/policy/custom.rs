//! Custom rules: a config's `custom-rules`, each a CEL check over the
//! objects it matches, reported like a built-in rule.
//!
//! ```yaml
//! custom-rules:
//! - id: few-replicas
//!   severity: warning
//!   summary: Deployments run at most 2 replicas here
//!   match: {kinds: [Deployment]}
//!   validations:
//!   - expression: "object.spec.replicas <= 2"
//!     message: "too many replicas"
//!     fieldPath: "spec.replicas"
//! ```

use super::expression::{self, Bindings, Expression};
use super::field_path;
use super::validate::{self, Budget, Outcome, Place, Validation, Variable};
use crate::diagnostic::{Diagnostic, ObjectRef, Severity};
use crate::k8s::Manifest;
use crate::k8s::selector::{LabelSelector, labels_of};
use crate::source::FileId;
use crate::yaml::{Node, Span, Value as Yaml};
use std::sync::Arc;

/// The names a custom rule's expressions may read.
pub const NAMES: &[&str] = &[
    "object",
    "oldObject",
    "params",
    "namespaceObject",
    "variables",
    "request",
    "resources",
];

/// A file custom rules are written in (the config, or a file it names).
#[derive(Debug)]
pub struct Source {
    /// Its name as shown.
    pub name: String,
    /// Its text.
    pub text: Arc<str>,
}

/// Which objects a rule judges.
#[derive(Debug, Default)]
pub struct Match {
    /// Kinds (`*` for every kind).
    pub kinds: Vec<String>,
    /// API groups (`""` for the core group), if limited.
    pub api_groups: Option<Vec<String>>,
    /// Namespaces, if limited.
    pub namespaces: Option<Vec<String>>,
    /// Labels the object must have, if any.
    pub labels: Option<LabelSelector>,
}

impl Match {
    /// Whether `object` is one the rule judges.
    pub fn matches(&self, object: &Manifest) -> bool {
        let kind = object.kind();
        if !self.kinds.iter().any(|k| k == "*" || k == kind) {
            return false;
        }
        if let Some(groups) = &self.api_groups
            && !groups.iter().any(|g| g == "*" || g == object.group())
        {
            return false;
        }
        if let Some(namespaces) = &self.namespaces {
            let namespace = object.object.namespace.as_deref().unwrap_or("default");
            if !namespaces.iter().any(|n| n == namespace) {
                return false;
            }
        }
        if let Some(selector) = &self.labels {
            let labels = labels_of(object.metadata().and_then(|m| m.get("labels")));
            if !selector.matches(&labels) {
                return false;
            }
        }
        true
    }
}

/// One custom rule.
#[derive(Debug)]
pub struct CustomRule {
    /// Its id, as findings and suppressions name it.
    pub id: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// Whether it runs (the config's `rules` may turn it off).
    pub enabled: bool,
    /// One sentence stating the problem.
    pub summary: String,
    /// What to do about a finding.
    pub help: Option<String>,
    /// Which objects it judges.
    pub matcher: Match,
    /// Parameters its expressions read as `params`.
    pub params: Option<(expression::Shared, super::cost::Size)>,
    /// Its variables, in order.
    pub variables: Vec<Variable>,
    /// Its validations.
    pub validations: Vec<Validation>,
    /// Whether it reads other objects of the run (`namespaceObject`,
    /// `resources`), so it runs once the whole run is loaded.
    pub needs_run: bool,
    /// The kinds it selects under `resources`.
    pub resource_kinds: Vec<String>,
    /// The field paths of `object` its expressions read.
    pub object_reads: Vec<Vec<String>>,
    /// Whether it reads `request`.
    pub reads_request: bool,
}

/// Custom rules and what is wrong in how they are written.
#[derive(Debug, Default)]
pub struct CustomRules {
    /// The files they are written in; a [`Place`]'s file is an index here
    /// until the run gives these files their ids.
    pub sources: Vec<Source>,
    /// The rules that compiled.
    pub rules: Vec<CustomRule>,
    /// Expressions that did not compile: where, and why.
    pub problems: Vec<(Place, String)>,
}

/// A runtime error of a custom rule's expression on one object.
#[derive(Debug, Clone)]
pub struct RuntimeError {
    /// The rule.
    pub rule: &'static str,
    /// Where the failing expression is written (file: a source index).
    pub at: Place,
    /// The object it failed on.
    pub object: ObjectRef,
    /// Why.
    pub why: String,
}

impl CustomRules {
    /// The rules as the catalog lists them.
    pub fn catalog_entries(&self) -> Vec<crate::catalog::CustomEntry> {
        self.rules
            .iter()
            .map(|rule| crate::catalog::CustomEntry {
                id: rule.id,
                severity: rule.severity,
                summary: rule.summary.clone(),
                doc: page(rule),
            })
            .collect()
    }

    /// Parses the `custom-rules` list of the config `source`. Errors in
    /// the structure are the config's errors; expressions that do not
    /// compile are kept as problems, reported as findings.
    pub fn add(&mut self, source: Source, list: &Node) -> Result<(), (Span, String)> {
        let file = FileId(self.sources.len() as u32);
        let items = list.as_seq().ok_or((
            list.span,
            "`custom-rules` must be a list of rules".to_owned(),
        ))?;
        for item in items {
            let rule = self.rule(file, item)?;
            if self.rules.iter().any(|r| r.id == rule.id) {
                return Err((
                    item.span,
                    format!("two custom rules are named `{}`", rule.id),
                ));
            }
            self.rules.push(rule);
        }
        self.sources.push(source);
        Ok(())
    }

    fn rule(&mut self, file: FileId, item: &Node) -> Result<CustomRule, (Span, String)> {
        let entries = item
            .as_map()
            .ok_or((item.span, "a custom rule must be a mapping".to_owned()))?;
        const KEYS: &[&str] = &[
            "id",
            "severity",
            "summary",
            "help",
            "match",
            "params",
            "variables",
            "validations",
        ];
        for entry in entries {
            if !KEYS.contains(&entry.key.as_str()) {
                let hint = crate::spelling::nearest(&entry.key, KEYS.iter().copied())
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                return Err((
                    entry.key_span,
                    format!("`{}` is not a custom rule key{hint}", entry.key),
                ));
            }
        }
        let text = |key: &str| -> Result<Option<String>, (Span, String)> {
            match item.get(key) {
                None => Ok(None),
                Some(node) => node
                    .as_str()
                    .map(|s| Some(s.to_owned()))
                    .ok_or((node.span, format!("`{key}` must be a string"))),
            }
        };
        let id_node = item
            .get("id")
            .ok_or((item.span, "a custom rule needs an `id`".to_owned()))?;
        let id = id_node
            .as_str()
            .ok_or((id_node.span, "`id` must be a string".to_owned()))?;
        let kebab = !id.is_empty()
            && id.len() <= 64
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !kebab {
            return Err((
                id_node.span,
                format!(
                    "custom rule id {id:?} must be kebab-case (a-z, 0-9, -), at most 64 characters"
                ),
            ));
        }
        if crate::catalog::CATALOG.iter().any(|m| m.id == id) || id == "all" {
            return Err((
                id_node.span,
                format!("`{id}` is a built-in rule; give the custom rule another id"),
            ));
        }
        let severity = match item.get("severity") {
            None => Severity::Warning,
            Some(node) => node
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e| (node.span, e))?,
        };
        let summary = text("summary")?.ok_or((
            item.span,
            format!("custom rule `{id}` needs a `summary`: one sentence stating the problem"),
        ))?;
        let matcher = parse_match(item.get("match").ok_or((
            item.span,
            format!("custom rule `{id}` needs a `match` with `kinds`"),
        ))?)?;
        let params = item.get("params").map(|node| {
            let (value, size) = expression::from_yaml(node);
            (expression::share(value), size)
        });
        let mut variables = Vec::new();
        for node in item
            .get("variables")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let name = node.get("name").and_then(Node::as_str).ok_or((
                node.span,
                "a variable needs a `name` and an `expression`".to_owned(),
            ))?;
            let Some((expression, at)) = self.expression(file, node, "expression")? else {
                continue;
            };
            variables.push(Variable {
                name: name.to_owned(),
                expression,
                at,
            });
        }
        let list = item
            .get("validations")
            .and_then(Node::as_seq)
            .filter(|l| !l.is_empty());
        let list = list.ok_or((
            item.span,
            format!("custom rule `{id}` needs a non-empty `validations` list"),
        ))?;
        let mut validations = Vec::new();
        for node in list {
            if let Some(validation) = self.validation(file, node)? {
                validations.push(validation);
            }
        }
        let reads = |name: &str| {
            validations.iter().any(|v| v.expression.reads(name))
                || variables.iter().any(|v| v.expression.reads(name))
        };
        let needs_run = reads("namespaceObject") || reads("resources");
        let mut resource_kinds: Vec<String> = Vec::new();
        for e in validations
            .iter()
            .map(|v| &v.expression)
            .chain(variables.iter().map(|v| &v.expression))
        {
            for kind in e.fields_of("resources") {
                if !resource_kinds.contains(&kind) {
                    resource_kinds.push(kind);
                }
            }
        }
        let expressions = || {
            validations
                .iter()
                .flat_map(|v| {
                    std::iter::once(&v.expression)
                        .chain(v.message_expression.as_ref().map(|(e, _)| e))
                })
                .chain(variables.iter().map(|v| &v.expression))
        };
        let object_reads = expressions().flat_map(Expression::object_reads).collect();
        let reads_request = expressions().any(|e| e.reads("request"));
        Ok(CustomRule {
            enabled: true,
            object_reads,
            reads_request,
            id: crate::catalog::intern(id),
            severity,
            summary,
            help: text("help")?,
            matcher,
            params,
            variables,
            validations,
            needs_run,
            resource_kinds,
        })
    }

    /// Compiles the expression under `key`; one that does not compile is a
    /// problem, and `None`.
    fn expression(
        &mut self,
        file: FileId,
        node: &Node,
        key: &str,
    ) -> Result<Option<(Expression, Place)>, (Span, String)> {
        let value = node
            .get(key)
            .ok_or((node.span, format!("`{key}` is missing")))?;
        let text = value
            .as_str()
            .ok_or((value.span, format!("`{key}` must be a string of CEL")))?;
        let at = Place {
            file,
            span: value.span,
        };
        match Expression::compile(text, NAMES) {
            Ok(expression) => Ok(Some((expression, at))),
            Err(why) => {
                self.problems.push((at, why));
                Ok(None)
            }
        }
    }

    fn validation(
        &mut self,
        file: FileId,
        node: &Node,
    ) -> Result<Option<Validation>, (Span, String)> {
        const KEYS: &[&str] = &[
            "expression",
            "message",
            "messageExpression",
            "fieldPath",
            "reason",
        ];
        for entry in node.as_map().unwrap_or_default() {
            if !KEYS.contains(&entry.key.as_str()) {
                return Err((
                    entry.key_span,
                    format!(
                        "`{}` is not a validation key (known: {})",
                        entry.key,
                        KEYS.join(", ")
                    ),
                ));
            }
        }
        let text = node
            .get("expression")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some((expression, at)) = self.expression(file, node, "expression")? else {
            return Ok(None);
        };
        let message_expression = match node.get("messageExpression") {
            Some(_) => self.expression(file, node, "messageExpression")?,
            None => None,
        };
        let field_path = match node.get("fieldPath") {
            None => None,
            Some(value) => Some(
                field_path::parse(value.as_str().unwrap_or_default())
                    .map_err(|e| (value.span, format!("`fieldPath`: {e}")))?,
            ),
        };
        Ok(Some(Validation {
            expression,
            at,
            message: node
                .get("message")
                .and_then(Node::as_str)
                .map(str::to_owned),
            message_expression,
            field_path,
            text,
        }))
    }

    /// Whether any rule runs per object, in the check stage.
    pub fn any_per_object(&self) -> bool {
        self.rules.iter().any(|r| r.enabled && !r.needs_run)
    }

    /// Runs the per-object rules on one object.
    pub fn check_object(
        &self,
        object: &Manifest,
        budget: &Budget,
        out: &mut Vec<Diagnostic>,
        errors: &mut Vec<RuntimeError>,
    ) {
        let matching: Vec<&CustomRule> = self
            .rules
            .iter()
            .filter(|r| r.enabled && !r.needs_run && r.matcher.matches(object))
            .collect();
        if matching.is_empty() {
            return;
        }
        // Only what the matching rules read is converted.
        let mut paths = expression::Paths::default();
        for path in matching.iter().flat_map(|r| &r.object_reads) {
            paths.add(path);
        }
        let request = matching.iter().any(|r| r.reads_request);
        let bindings = object_bindings_reading(object, &paths, request);
        for rule in matching {
            self.judge(rule, object, &bindings, budget, out, errors);
        }
    }

    /// Judges one object with one rule, given its bindings.
    pub fn judge(
        &self,
        rule: &CustomRule,
        object: &Manifest,
        bindings: &Bindings,
        budget: &Budget,
        out: &mut Vec<Diagnostic>,
        errors: &mut Vec<RuntimeError>,
    ) {
        let mut bindings = bindings.clone();
        if let Some((params, size)) = &rule.params {
            bindings.set_shared("params", params.clone(), *size);
        }
        let outcomes = validate::run(&rule.variables, &rule.validations, &bindings, budget);
        for (validation, outcome) in rule.validations.iter().zip(outcomes) {
            match outcome {
                Outcome::Pass => {}
                Outcome::Fail { message } => {
                    let derived = validation.expression.object_path();
                    let span = validation
                        .field_path
                        .as_deref()
                        .or(derived.as_deref())
                        .and_then(|path| field_path::locate(object.node, path))
                        .unwrap_or_else(|| object_span(object));
                    let mut d = Diagnostic::new(rule.id, rule.severity, object.file, span, message);
                    d.object = Some(object.object.clone());
                    d.slot = Some(object.slot);
                    d.help = Some(rule.help.clone().unwrap_or_else(|| {
                        format!(
                            "{} (custom rule `{}`).",
                            rule.summary.trim_end_matches('.'),
                            rule.id
                        )
                    }));
                    out.push(d);
                    // The first failing validation is the object's verdict,
                    // as admission reports it.
                    break;
                }
                Outcome::Error { at, why } => errors.push(RuntimeError {
                    rule: rule.id,
                    at,
                    object: object.object.clone(),
                    why,
                }),
            }
        }
    }
}

/// The bindings every evaluation on `object` starts from.
pub fn object_bindings<'a>(object: &Manifest<'a>) -> Bindings<'a> {
    object_bindings_reading(object, &expression::Paths::whole(), true)
}

/// The bindings evaluations that read `paths` of the object (and
/// `request`, if asked) start from.
fn object_bindings_reading<'a>(
    object: &Manifest<'a>,
    paths: &expression::Paths,
    with_request: bool,
) -> Bindings<'a> {
    let mut bindings = Bindings::default();
    bindings.set_node_reading("object", object.node, paths);
    bindings.set(
        "oldObject",
        cel::objects::Value::Null,
        super::cost::Size::ONE,
    );
    bindings.set("params", cel::objects::Value::Null, super::cost::Size::ONE);
    if with_request {
        let request = request_for(object);
        let request_size = expression::measure(&request);
        bindings.set("request", request, request_size);
    }
    bindings
}

/// The parts of an admission request known before admission: a CREATE of
/// the object. Who makes it (`userInfo`) is not known; the object itself
/// is `object` (not repeated here, so it is converted once).
fn request_for(object: &Manifest) -> cel::objects::Value {
    use expression::{map_of, string};
    let group = object.group().to_owned();
    let version = object
        .object
        .api_version
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let kind = map_of([
        ("group".to_owned(), string(&group)),
        ("version".to_owned(), string(&version)),
        ("kind".to_owned(), string(object.kind())),
    ]);
    let resource = map_of([
        ("group".to_owned(), string(&group)),
        ("version".to_owned(), string(&version)),
        (
            "resource".to_owned(),
            string(&super::resources::plural(object.kind())),
        ),
    ]);
    let mut fields = vec![
        ("kind".to_owned(), kind.clone()),
        ("resource".to_owned(), resource.clone()),
        ("requestKind".to_owned(), kind),
        ("requestResource".to_owned(), resource),
        ("name".to_owned(), string(&object.object.name)),
        ("operation".to_owned(), string("CREATE")),
        ("oldObject".to_owned(), cel::objects::Value::Null),
        ("dryRun".to_owned(), cel::objects::Value::Bool(false)),
    ];
    if let Some(namespace) = &object.object.namespace {
        fields.push(("namespace".to_owned(), string(namespace)));
    }
    map_of(fields)
}

/// Where a finding about the whole object goes: its name, else its kind.
pub fn object_span(object: &Manifest) -> Span {
    object
        .metadata()
        .and_then(|m| m.get("name"))
        .or_else(|| object.node.get("kind"))
        .map_or(object.node.span, |n| n.span)
}

fn parse_match(node: &Node) -> Result<Match, (Span, String)> {
    const KEYS: &[&str] = &["kinds", "apiGroups", "namespaces", "labelSelector"];
    let entries = node.as_map().ok_or((
        node.span,
        "`match` must be a mapping with `kinds`".to_owned(),
    ))?;
    let mut matcher = Match::default();
    for entry in entries {
        let strings = || -> Result<Vec<String>, (Span, String)> {
            let list = match &entry.value.value {
                Yaml::Seq(items) => items,
                _ => {
                    return Err((
                        entry.value.span,
                        format!("`{}` must be a list of strings", entry.key),
                    ));
                }
            };
            list.iter()
                .map(|n| match &n.value {
                    Yaml::Str(s) => Ok(s.clone()),
                    Yaml::Null => Ok(String::new()),
                    _ => Err((n.span, format!("`{}` must be a list of strings", entry.key))),
                })
                .collect()
        };
        match entry.key.as_str() {
            "kinds" => matcher.kinds = strings()?,
            "apiGroups" => matcher.api_groups = Some(strings()?),
            "namespaces" => matcher.namespaces = Some(strings()?),
            "labelSelector" => matcher.labels = Some(LabelSelector::parse(Some(&entry.value))),
            other => {
                return Err((
                    entry.key_span,
                    format!("`{other}` is not a match key (known: {})", KEYS.join(", ")),
                ));
            }
        }
    }
    if matcher.kinds.is_empty() {
        return Err((
            node.span,
            "`match` needs `kinds`: a list of kinds, or [\"*\"]".to_owned(),
        ));
    }
    Ok(matcher)
}

/// A custom rule's page, in the catalog's shape.
fn page(rule: &CustomRule) -> String {
    let mut doc = format!(
        "---\nid: {}\ncategory: custom\nseverity: {}\ndefault: true\nsummary: {:?}\nfix: none\n---\n## What it does\n\n{}\n\nA custom rule from the config. It judges {}.\n\n## Validations\n\n",
        rule.id,
        rule.severity.as_str(),
        rule.summary,
        rule.summary,
        rule.matcher.kinds.join(", "),
    );
    for v in &rule.validations {
        doc.push_str(&format!("- `{}`", v.text.trim()));
        if let Some(message) = &v.message {
            doc.push_str(&format!(": {message}"));
        }
        doc.push('\n');
    }
    if let Some(help) = &rule.help {
        doc.push_str(&format!("\n## How to fix it\n\n{help}\n"));
    }
    doc
}
