//! Label selectors as the API server evaluates them (`matchLabels` and
//! `matchExpressions` with In, NotIn, Exists, DoesNotExist), for every rule
//! that asks which pods an object selects.

use crate::yaml::Node;

/// A pod's (or any object's) labels.
pub type Labels = [(String, String)];

/// The labels of a `labels:` mapping; values that are not strings are left
/// out, as the API server would refuse them.
pub fn labels_of(node: Option<&Node>) -> Vec<(String, String)> {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.key.clone(), string_value(&e.value)?.to_owned())))
        .collect()
}

/// A string value as Go decodes it into a `map[string]string`: `null` is
/// `""`.
fn string_value(node: &Node) -> Option<&str> {
    if node.is_null() {
        Some("")
    } else {
        node.as_str()
    }
}

fn label<'a>(labels: &'a Labels, key: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// How a requirement compares a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &Labels) -> bool {
        let value = label(labels, &self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.iter().any(|w| w == v)),
            Operator::NotIn => value.is_none_or(|v| self.values.iter().all(|w| w != v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A parsed label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    /// A selector the API server would refuse (an unknown operator, `In`
    /// without values); it selects nothing.
    invalid: bool,
}

impl LabelSelector {
    /// The selector that selects everything (`{}`).
    pub fn everything() -> LabelSelector {
        LabelSelector {
            requirements: Vec::new(),
            invalid: false,
        }
    }

    /// Parses a selector mapping; an absent or null selector is `{}`.
    pub fn parse(node: Option<&Node>) -> LabelSelector {
        let mut selector = LabelSelector::everything();
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return selector;
        };
        if node.as_map().is_none() {
            selector.invalid = true;
            return selector;
        }
        let match_labels = node.get("matchLabels").filter(|n| !n.is_null());
        for entry in match_labels.and_then(Node::as_map).unwrap_or_default() {
            match string_value(&entry.value) {
                Some(value) => selector.requirements.push(Requirement {
                    key: entry.key.clone(),
                    operator: Operator::In,
                    values: vec![value.to_owned()],
                }),
                None => selector.invalid = true,
            }
        }
        let expressions = node.get("matchExpressions").filter(|n| !n.is_null());
        for expression in expressions.and_then(Node::as_seq).unwrap_or_default() {
            match Self::expression(expression) {
                Some(requirement) => selector.requirements.push(requirement),
                None => selector.invalid = true,
            }
        }
        selector
    }

    fn expression(node: &Node) -> Option<Requirement> {
        let key = node.get("key")?.as_str()?.to_owned();
        let operator = match node.get("operator")?.as_str()? {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => return None,
        };
        let values: Vec<String> = match node.get("values").filter(|n| !n.is_null()) {
            None => Vec::new(),
            Some(list) => list
                .as_seq()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
        };
        let needs_values = matches!(operator, Operator::In | Operator::NotIn);
        (needs_values != values.is_empty()).then_some(Requirement {
            key,
            operator,
            values,
        })
    }

    /// Whether the selector selects an object with these labels.
    pub fn matches(&self, labels: &Labels) -> bool {
        !self.invalid && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether it selects every object (`{}`).
    pub fn selects_everything(&self) -> bool {
        !self.invalid && self.requirements.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse_stream};

    fn selector(yaml: &str) -> LabelSelector {
        let stream = parse_stream(yaml, Limits::default());
        LabelSelector::parse(stream.documents.first().map(|d| &d.root))
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn empty_selects_everything() {
        for yaml in ["{}", "null", "", "matchLabels: {}\n"] {
            let s = selector(yaml);
            assert!(s.selects_everything(), "{yaml:?}");
            assert!(s.matches(&labels(&[])), "{yaml:?}");
        }
    }

    #[test]
    fn match_labels_need_every_pair() {
        let s = selector("matchLabels: {app: web, tier: front}\n");
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "front"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert!(!s.matches(&labels(&[("app", "api"), ("tier", "front")])));
    }

    #[test]
    fn expressions() {
        let s = selector(
            "matchExpressions:\n- {key: app, operator: In, values: [web, api]}\n- {key: canary, operator: DoesNotExist}\n- {key: tier, operator: NotIn, values: [db]}\n- {key: team, operator: Exists}\n",
        );
        assert!(s.matches(&labels(&[("app", "api"), ("team", "a")])));
        assert!(s.matches(&labels(&[("app", "web"), ("team", "a"), ("tier", "front")])));
        assert!(!s.matches(&labels(&[("app", "db"), ("team", "a")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("team", "a"), ("canary", "1")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("team", "a"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
    }

    #[test]
    fn matchlabels_and_expressions_combine() {
        let s = selector(
            "matchLabels: {app: web}\nmatchExpressions: [{key: env, operator: In, values: [prod]}]\n",
        );
        assert!(s.matches(&labels(&[("app", "web"), ("env", "prod")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "dev")])));
    }

    #[test]
    fn invalid_selectors_select_nothing() {
        for yaml in [
            "matchExpressions: [{key: a, operator: Equals, values: [b]}]\n",
            "matchExpressions: [{key: a, operator: In}]\n",
            "matchExpressions: [{key: a, operator: Exists, values: [b]}]\n",
            "matchExpressions: [{operator: Exists}]\n",
            "matchLabels: {a: [b]}\n",
            "[a]\n",
        ] {
            let s = selector(yaml);
            assert!(!s.matches(&labels(&[("a", "b")])), "{yaml}");
            assert!(!s.selects_everything(), "{yaml}");
        }
    }

    #[test]
    fn null_values_are_empty_strings() {
        let stream = parse_stream("{canary: , app: web}", Limits::default());
        let pod = labels_of(stream.documents.first().map(|d| &d.root));
        assert!(selector("matchExpressions: [{key: canary, operator: Exists}]\n").matches(&pod));
        assert!(selector("matchLabels: {canary: }\n").matches(&pod));
    }

    #[test]
    fn labels_skip_non_strings() {
        let stream = parse_stream("{app: web, replicas: 3}", Limits::default());
        assert_eq!(
            labels_of(stream.documents.first().map(|d| &d.root)),
            labels(&[("app", "web")])
        );
    }
}
