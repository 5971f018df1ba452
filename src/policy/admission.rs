//! ValidatingAdmissionPolicies of the linted tree, with their bindings,
//! evaluated against the objects of the same unit as the API server would
//! on CREATE: match constraints, namespace and object selectors, match
//! conditions, parameters, variables, validations, and validation actions.

use super::custom::object_span;
use super::expression::{self, Bindings, Expression};
use super::field_path::{self, Step};
use super::resources;
use super::validate::{self, Budget, Outcome, Place, Validation, Variable};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::k8s::Manifest;
use crate::k8s::selector::{LabelSelector, labels_of};
use crate::yaml::{Node, Span};

use crate::rules::manifest::{
    AdmissionPolicyDenied, AdmissionPolicyNotEvaluated, PolicyExpressionError,
};

/// A policy denies an object.
pub const DENIED: &str = AdmissionPolicyDenied::ID;
/// A binding kslint cannot evaluate from the tree alone.
pub const NOT_EVALUATED: &str = AdmissionPolicyNotEvaluated::ID;
/// An expression that does not compile or fails.
pub const EXPRESSION_ERROR: &str = PolicyExpressionError::ID;

/// The names an admission policy's expressions may read: a custom rule's,
/// less `resources` (kslint's own), plus `authorizer` (known only at
/// admission, so reading it makes a verdict unknown).
fn names() -> Vec<&'static str> {
    super::custom::NAMES
        .iter()
        .copied()
        .filter(|n| *n != "resources")
        .chain(["authorizer"])
        .collect()
}

/// Whether a document is a policy or a binding.
pub fn is_policy_kind(object: &Manifest) -> bool {
    object.group() == "admissionregistration.k8s.io"
        && matches!(
            object.kind(),
            "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"
        )
}

/// One rule of `resourceRules`.
#[derive(Debug, Default)]
struct ResourceRule {
    groups: Vec<String>,
    versions: Vec<String>,
    resources: Vec<String>,
    operations: Vec<String>,
    names: Vec<String>,
    scope: String,
}

impl ResourceRule {
    fn parse(node: &Node) -> ResourceRule {
        let list = |key: &str| -> Vec<String> {
            node.get(key)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .map(|n| n.as_str().unwrap_or_default().to_owned())
                .collect()
        };
        ResourceRule {
            groups: list("apiGroups"),
            versions: list("apiVersions"),
            resources: list("resources"),
            operations: list("operations"),
            names: list("resourceNames"),
            scope: node
                .get("scope")
                .and_then(Node::as_str)
                .unwrap_or("*")
                .to_owned(),
        }
    }

    fn matches(&self, object: &Manifest, exact: bool) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        let version = object
            .object
            .api_version
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let resource = resources::plural(object.kind());
        let namespaced = resources::namespaced(object.kind());
        any(&self.groups, object.group())
            && (!exact || any(&self.versions, version))
            && (any(&self.resources, &resource) || self.resources.iter().any(|r| r == "*/*"))
            && any(&self.operations, "CREATE")
            && (self.names.is_empty() || self.names.contains(&object.object.name))
            && match self.scope.as_str() {
                "Cluster" => !namespaced,
                "Namespaced" => namespaced,
                _ => true,
            }
    }
}

/// `matchConstraints` of a policy, `matchResources` of a binding.
#[derive(Debug)]
struct Constraints {
    rules: Option<Vec<ResourceRule>>,
    excluded: Vec<ResourceRule>,
    namespaces: LabelSelector,
    objects: LabelSelector,
    exact: bool,
}

impl Constraints {
    fn parse(node: Option<&Node>) -> Constraints {
        let rules = |key: &str| {
            node.and_then(|n| n.get(key))
                .and_then(Node::as_seq)
                .map(|items| items.iter().map(ResourceRule::parse).collect::<Vec<_>>())
        };
        Constraints {
            rules: rules("resourceRules").filter(|r| !r.is_empty()),
            excluded: rules("excludeResourceRules").unwrap_or_default(),
            namespaces: LabelSelector::parse(node.and_then(|n| n.get("namespaceSelector"))),
            objects: LabelSelector::parse(node.and_then(|n| n.get("objectSelector"))),
            exact: node
                .and_then(|n| n.get("matchPolicy"))
                .and_then(Node::as_str)
                == Some("Exact"),
        }
    }
}

/// Whether constraints select an object: `None` when that depends on a
/// namespace the run does not have.
fn selects(
    constraints: &Constraints,
    object: &Manifest,
    namespaces: &[(String, Vec<(String, String)>)],
) -> Result<bool, String> {
    if let Some(rules) = &constraints.rules
        && !rules.iter().any(|r| r.matches(object, constraints.exact))
    {
        return Ok(false);
    }
    if constraints
        .excluded
        .iter()
        .any(|r| r.matches(object, constraints.exact))
    {
        return Ok(false);
    }
    let labels = labels_of(object.metadata().and_then(|m| m.get("labels")));
    if !constraints.objects.matches(&labels) {
        return Ok(false);
    }
    if constraints.namespaces.selects_everything() {
        return Ok(true);
    }
    if object.kind() == "Namespace" && object.group().is_empty() {
        return Ok(constraints
            .namespaces
            .matches(&namespace_labels(&object.object.name, labels)));
    }
    if !resources::namespaced(object.kind()) {
        return Ok(true);
    }
    let name = object.object.namespace.as_deref().unwrap_or("default");
    match namespaces.iter().find(|(n, _)| n == name) {
        Some((_, labels)) => Ok(constraints.namespaces.matches(labels)),
        None => Err(format!(
            "its namespaceSelector needs the labels of namespace \"{name}\", which is not among the linted objects"
        )),
    }
}

/// A namespace's labels as selectors see them: with the label the API
/// server sets on every namespace.
fn namespace_labels(name: &str, mut labels: Vec<(String, String)>) -> Vec<(String, String)> {
    labels.retain(|(k, _)| k != "kubernetes.io/metadata.name");
    labels.push(("kubernetes.io/metadata.name".to_owned(), name.to_owned()));
    labels
}

/// A compiled policy.
pub struct Policy<'a> {
    name: String,
    object: &'a Manifest<'a>,
    fail_closed: bool,
    param_kind: Option<(String, String)>,
    constraints: Constraints,
    conditions: Vec<(String, Expression, Place)>,
    variables: Vec<Variable>,
    validations: Vec<Validation>,
}

/// A binding.
pub struct Binding<'a> {
    policy: String,
    object: &'a Manifest<'a>,
    param_ref: Option<&'a Node>,
    constraints: Option<Constraints>,
    actions: Vec<String>,
}

/// What the run holds for admission: policies, bindings, namespaces and
/// every object that could be a parameter.
pub struct Admission<'a> {
    policies: Vec<Policy<'a>>,
    bindings: Vec<Binding<'a>>,
}

fn compile(
    node: &Node,
    key: &str,
    object: &Manifest,
    problems: &mut Vec<Diagnostic>,
) -> Option<(Expression, Place)> {
    let value = node.get(key)?;
    let at = Place {
        file: object.file,
        span: value.span,
    };
    let Some(text) = value.as_str() else {
        problems.push(expression_error(
            at,
            format!("`{key}` must be a string of CEL"),
            object,
        ));
        return None;
    };
    match Expression::compile(text, &names()) {
        Ok(expression) => Some((expression, at)),
        Err(why) => {
            problems.push(expression_error(at, why, object));
            None
        }
    }
}

/// Whether an evaluation error comes from reading who makes the request
/// (`request.userInfo`, `authorizer`), which only admission knows.
fn reads_caller(why: &str) -> bool {
    why.contains("`userInfo`") || why.contains("authorizer")
}

/// A finding at a policy's expression: `why` says it fails on an object
/// ("fails on ..."), or is why it does not compile.
fn expression_error(at: Place, why: String, policy: &Manifest) -> Diagnostic {
    let what = if why.starts_with("fails") {
        why
    } else {
        format!("does not compile: {why}")
    };
    let mut d = Diagnostic::new(
        EXPRESSION_ERROR,
        Severity::Error,
        at.file,
        at.span,
        format!(
            "this expression of {} \"{}\" {what}",
            policy.kind(),
            policy.object.name
        ),
    );
    d.help = Some("Fix the CEL expression; until then the API server rejects the policy or fails on the objects it matches.".to_owned());
    d
}

impl<'a> Admission<'a> {
    /// Reads the policies and bindings among `objects`; expressions that do
    /// not compile are findings in `problems`.
    pub fn of(objects: &[&'a Manifest<'a>], problems: &mut Vec<Diagnostic>) -> Admission<'a> {
        let mut policies = Vec::new();
        let mut bindings = Vec::new();
        for object in objects.iter().copied().filter(|o| is_policy_kind(o)) {
            let spec = object.node.get("spec");
            if object.kind() == "ValidatingAdmissionPolicyBinding" {
                let policy = spec
                    .and_then(|s| s.get("policyName"))
                    .and_then(Node::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let actions = spec
                    .and_then(|s| s.get("validationActions"))
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect();
                bindings.push(Binding {
                    policy,
                    object,
                    param_ref: spec
                        .and_then(|s| s.get("paramRef"))
                        .filter(|n| !n.is_null()),
                    constraints: spec
                        .and_then(|s| s.get("matchResources"))
                        .filter(|n| !n.is_null())
                        .map(|n| Constraints::parse(Some(n))),
                    actions,
                });
                continue;
            }
            let Some(spec) = spec else { continue };
            let list = |key: &str| spec.get(key).and_then(Node::as_seq).unwrap_or_default();
            let conditions = list("matchConditions")
                .iter()
                .filter_map(|c| {
                    let name = c
                        .get("name")
                        .and_then(Node::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    compile(c, "expression", object, problems).map(|(e, at)| (name, e, at))
                })
                .collect();
            let variables = list("variables")
                .iter()
                .filter_map(|v| {
                    let name = v.get("name").and_then(Node::as_str)?.to_owned();
                    compile(v, "expression", object, problems).map(|(expression, at)| Variable {
                        name,
                        expression,
                        at,
                    })
                })
                .collect();
            let validations = list("validations")
                .iter()
                .filter_map(|v| {
                    let (expression, at) = compile(v, "expression", object, problems)?;
                    let field_path = v
                        .get("fieldPath")
                        .and_then(Node::as_str)
                        .and_then(|p| field_path::parse(p.trim_start_matches('.')).ok());
                    Some(Validation {
                        expression,
                        at,
                        message: v.get("message").and_then(Node::as_str).map(str::to_owned),
                        message_expression: compile(v, "messageExpression", object, problems),
                        field_path,
                        text: v
                            .get("expression")
                            .and_then(Node::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    })
                })
                .collect();
            let param_kind = spec.get("paramKind").filter(|n| !n.is_null()).map(|p| {
                let text = |k: &str| {
                    p.get(k)
                        .and_then(Node::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                (text("apiVersion"), text("kind"))
            });
            policies.push(Policy {
                name: object.object.name.clone(),
                object,
                fail_closed: spec.get("failurePolicy").and_then(Node::as_str) != Some("Ignore"),
                param_kind,
                constraints: Constraints::parse(spec.get("matchConstraints")),
                conditions,
                variables,
                validations,
            });
        }
        Admission { policies, bindings }
    }

    /// Whether any binding names a policy of the run.
    pub fn is_empty(&self) -> bool {
        !self
            .bindings
            .iter()
            .any(|b| self.policies.iter().any(|p| p.name == b.policy))
    }
}

/// Judges `object` with every bound policy of `parts` (the loose files'
/// and a unit's). `everything` is the unit's objects (for parameters and
/// namespaces).
pub fn judge(
    parts: &[&Admission],
    object: &Manifest,
    everything: &[&Manifest],
    namespaces: &[(String, Vec<(String, String)>)],
    budget: &Budget,
    out: &mut Vec<Diagnostic>,
) {
    if is_policy_kind(object) {
        return;
    }
    let mut base: Option<Bindings> = None;
    let policies = || parts.iter().flat_map(|a| &a.policies);
    for binding in parts.iter().flat_map(|a| &a.bindings) {
        let Some(policy) = policies().find(|p| p.name == binding.policy) else {
            continue;
        };
        let selected = selects(&policy.constraints, object, namespaces).and_then(|by_policy| {
            match &binding.constraints {
                Some(c) if by_policy => selects(c, object, namespaces),
                _ => Ok(by_policy),
            }
        });
        match selected {
            Ok(false) => continue,
            Ok(true) => {}
            Err(why) => {
                out.push(not_evaluated(policy, binding, object, why));
                continue;
            }
        }
        let bindings = base.get_or_insert_with(|| {
            let mut b = super::custom::object_bindings(object);
            let namespace = namespace_object(object, everything);
            let size = namespace.as_ref().map_or(super::cost::Size::ONE, |n| n.1);
            b.set(
                "namespaceObject",
                namespace.map_or(cel::objects::Value::Null, |n| n.0),
                size,
            );
            b
        });
        let params = match params(policy, binding, object, everything) {
            Ok(params) => params,
            Err(why) => {
                out.push(not_evaluated(policy, binding, object, why));
                continue;
            }
        };
        for param in params {
            let mut bindings = bindings.clone();
            if let Some(param) = param {
                let (value, size) = expression::from_yaml(param.node);
                bindings.set("params", value, size);
            }
            if evaluate(policy, binding, object, &bindings, budget, out) {
                break;
            }
        }
    }
}

/// The parameter objects a binding gives a policy for `object`: one
/// `None` for a policy without parameters.
fn params<'o>(
    policy: &Policy,
    binding: &Binding,
    object: &Manifest,
    everything: &[&'o Manifest<'o>],
) -> Result<Vec<Option<&'o Manifest<'o>>>, String> {
    let Some((api_version, kind)) = &policy.param_kind else {
        return Ok(vec![None]);
    };
    // Without a paramRef the policy runs with `params` null, as the API
    // server runs it.
    let Some(reference) = binding.param_ref else {
        return Ok(vec![None]);
    };
    let text = |k: &str| reference.get(k).and_then(Node::as_str);
    let namespace = text("namespace").map(str::to_owned).or_else(|| {
        resources::namespaced(kind).then(|| {
            object
                .object
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned())
        })
    });
    let selector = reference
        .get("selector")
        .map(|s| LabelSelector::parse(Some(s)));
    let found: Vec<&Manifest> = everything
        .iter()
        .copied()
        .filter(|p| p.kind() == kind && &p.object.api_version == api_version)
        .filter(|p| match &namespace {
            Some(ns) if resources::namespaced(kind) => {
                p.object.namespace.as_deref().unwrap_or("default") == ns
            }
            _ => true,
        })
        .filter(|p| match (text("name"), &selector) {
            (Some(name), _) => p.object.name == name,
            (None, Some(selector)) => {
                selector.matches(&labels_of(p.metadata().and_then(|m| m.get("labels"))))
            }
            (None, None) => false,
        })
        .collect();
    if found.is_empty() {
        let wanted = match text("name") {
            Some(name) => format!("{kind} \"{name}\""),
            None => format!("{kind} objects matching the binding's selector"),
        };
        let place = namespace
            .map(|n| format!(" in namespace \"{n}\""))
            .unwrap_or_default();
        return Err(format!(
            "its parameters ({wanted}{place}) are not among the linted objects; the cluster may have them"
        ));
    }
    Ok(found.into_iter().map(Some).collect())
}

/// Evaluates one policy with one set of bindings; true if it denied.
fn evaluate(
    policy: &Policy,
    binding: &Binding,
    object: &Manifest,
    bindings: &Bindings,
    budget: &Budget,
    out: &mut Vec<Diagnostic>,
) -> bool {
    // Every condition is evaluated: one that is false skips the policy
    // whatever errors the others had, as the API server decides.
    let mut failure = None;
    let mut unknown_caller = None;
    for (name, condition, at) in &policy.conditions {
        match validate::evaluate(condition, bindings, budget) {
            Ok(cel::objects::Value::Bool(true)) => {}
            Ok(cel::objects::Value::Bool(false)) => return false,
            Ok(other) => {
                failure.get_or_insert((
                    *at,
                    format!(
                        "match condition \"{name}\" must evaluate to a bool, not {}",
                        other.type_of()
                    ),
                ));
            }
            Err(why) if reads_caller(&why) => {
                unknown_caller.get_or_insert(format!(
                    "match condition \"{name}\" depends on who makes the request, which is not known before admission"
                ));
            }
            Err(why) => {
                failure.get_or_insert((
                    *at,
                    format!(
                        "fails as match condition \"{name}\" on {}: {why}",
                        object.object
                    ),
                ));
            }
        }
    }
    if let Some(why) = unknown_caller {
        // Whether the policy applies is unknown; if it would pass anyway,
        // the verdict is known: admitted.
        let passes = failure.is_none()
            && validate::run(&policy.variables, &policy.validations, bindings, budget)
                .iter()
                .all(|o| matches!(o, Outcome::Pass));
        if !passes {
            out.push(not_evaluated(policy, binding, object, why));
        }
        return false;
    }
    if failure.is_none() {
        let outcomes = validate::run(&policy.variables, &policy.validations, bindings, budget);
        for (validation, outcome) in policy.validations.iter().zip(outcomes) {
            match outcome {
                Outcome::Pass => {}
                Outcome::Fail { message } => {
                    let derived = validation.expression.object_path();
                    let path = validation.field_path.as_deref().or(derived.as_deref());
                    let span = field_span(object, path);
                    out.push(denial(
                        policy,
                        binding,
                        object,
                        span,
                        message,
                        validation.at,
                    ));
                    return binding.actions.iter().any(|a| a == "Deny");
                }
                Outcome::Error { at, why } => {
                    if reads_caller(&why) {
                        out.push(not_evaluated(policy, binding, object, format!("a validation depends on who makes the request, which is not known before admission: {why}")));
                        return false;
                    }
                    failure = Some((at, format!("fails on {}: {why}", object.object)));
                    break;
                }
            }
        }
    }
    let Some((at, why)) = failure else {
        return false;
    };
    out.push(expression_error(at, why.clone(), policy.object));
    // Over kslint's bounds the verdict is unknown: the error says so, and
    // no rejection is claimed.
    if !policy.fail_closed || validate::is_bound(&why) {
        return false;
    }
    let message = format!(
        "the policy fails on this object and its failurePolicy is Fail, so the API server rejects it ({why})"
    );
    out.push(denial(
        policy,
        binding,
        object,
        object_span(object),
        message,
        at,
    ));
    binding.actions.iter().any(|a| a == "Deny")
}

fn field_span(object: &Manifest, path: Option<&[Step]>) -> Span {
    path.and_then(|p| field_path::locate(object.node, p))
        .unwrap_or_else(|| object_span(object))
}

/// The severity of a failed validation: what the binding does with it.
fn severity(actions: &[String]) -> Severity {
    if actions.iter().any(|a| a == "Deny") {
        Severity::Error
    } else if actions.iter().any(|a| a == "Warn") {
        Severity::Warning
    } else {
        Severity::Note
    }
}

fn denial(
    policy: &Policy,
    binding: &Binding,
    object: &Manifest,
    span: Span,
    message: String,
    at: Place,
) -> Diagnostic {
    let verb = if binding.actions.iter().any(|a| a == "Deny") {
        "denies"
    } else if binding.actions.iter().any(|a| a == "Warn") {
        "warns about"
    } else {
        "audits"
    };
    let mut d = Diagnostic::new(
        DENIED,
        severity(&binding.actions),
        object.file,
        span,
        format!(
            "ValidatingAdmissionPolicy \"{}\" (binding \"{}\") {verb} this {}: {message}",
            policy.name,
            binding.object.object.name,
            object.kind()
        ),
    );
    d.object = Some(object.object.clone());
    d.slot = Some(object.slot);
    d.primary.message = "the policy rejects this".to_owned();
    d.related.push(Label {
        file: at.file,
        span: at.span,
        message: "the validation that fails".to_owned(),
    });
    d.related.push(Label {
        file: binding.object.file,
        span: object_span(binding.object),
        message: "the binding that enforces it".to_owned(),
    });
    d.help = Some(
        "Change the object so the policy's validation holds; the cluster applies the same policy at admission."
            .to_owned(),
    );
    d
}

fn not_evaluated(policy: &Policy, binding: &Binding, object: &Manifest, why: String) -> Diagnostic {
    let mut d = Diagnostic::new(
        NOT_EVALUATED,
        Severity::Note,
        binding.object.file,
        object_span(binding.object),
        format!(
            "ValidatingAdmissionPolicy \"{}\" was not evaluated on {}: {why}",
            policy.name, object.object
        ),
    );
    d.object = Some(binding.object.object.clone());
    d.slot = Some(binding.object.slot);
    d.related.push(Label {
        file: object.file,
        span: object_span(object),
        message: "the object it would judge".to_owned(),
    });
    d.help = Some("Add the missing objects to the linted paths to evaluate the policy, or accept that the cluster decides.".to_owned());
    d
}

/// The Namespace object of `object`'s namespace, if the run has it.
fn namespace_object(
    object: &Manifest,
    everything: &[&Manifest],
) -> Option<(cel::objects::Value, super::cost::Size)> {
    if !resources::namespaced(object.kind()) {
        return None;
    }
    let name = object.object.namespace.as_deref().unwrap_or("default");
    everything
        .iter()
        .find(|o| o.kind() == "Namespace" && o.group().is_empty() && o.object.name == name)
        .map(|n| expression::from_yaml(n.node))
}

/// The namespaces of a unit with the labels selectors see.
pub fn namespaces(everything: &[&Manifest]) -> Vec<(String, Vec<(String, String)>)> {
    everything
        .iter()
        .filter(|o| o.kind() == "Namespace" && o.group().is_empty())
        .map(|o| {
            let labels = labels_of(o.metadata().and_then(|m| m.get("labels")));
            (
                o.object.name.clone(),
                namespace_labels(&o.object.name, labels),
            )
        })
        .collect()
}
