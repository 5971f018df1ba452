//! `kslint rbac graph`: workloads -> service accounts -> bindings -> roles,
//! as Graphviz DOT or Mermaid, with the edges that lead to dangerous
//! permissions highlighted.

use super::authorize::dangers;
use super::{Model, names_workload, qualified, token_mounted};
use crate::index::{ClusterView, RunIndex};
use std::collections::{BTreeMap, HashSet};

/// A node of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// A stable id (`n0`, `n1`, ...).
    pub id: String,
    /// The label lines.
    pub label: Vec<String>,
    /// Which kind of node it is, for shapes.
    pub shape: Shape,
    /// Holds or leads to dangerous permissions.
    pub danger: bool,
}

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A workload.
    Workload,
    /// A ServiceAccount, User or Group.
    Subject,
    /// A binding.
    Binding,
    /// A role.
    Role,
}

/// An edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// From node id.
    pub from: String,
    /// To node id.
    pub to: String,
    /// A short label.
    pub label: String,
    /// Leads to dangerous permissions.
    pub danger: bool,
}

/// The RBAC graph of a run.
#[derive(Debug, Default)]
pub struct Graph {
    /// Nodes, in insertion order.
    pub nodes: Vec<GraphNode>,
    /// Edges.
    pub edges: Vec<Edge>,
    ids: BTreeMap<String, usize>,
    edge_keys: HashSet<(String, String)>,
}

impl Graph {
    fn node(&mut self, key: String, label: Vec<String>, shape: Shape) -> String {
        if let Some(&i) = self.ids.get(&key) {
            return self.nodes[i].id.clone();
        }
        let id = format!("n{}", self.nodes.len());
        self.ids.insert(key, self.nodes.len());
        self.nodes.push(GraphNode {
            id: id.clone(),
            label,
            shape,
            danger: false,
        });
        id
    }

    fn mark(&mut self, id: &str) {
        // Ids are `n<index>`.
        if let Some(node) = id[1..]
            .parse::<usize>()
            .ok()
            .and_then(|i| self.nodes.get_mut(i))
        {
            node.danger = true;
        }
    }

    fn edge(&mut self, from: &str, to: &str, label: &str, danger: bool) {
        if !self.edge_keys.insert((from.to_owned(), to.to_owned())) {
            // Already drawn: a dangerous path through it wins.
            if danger
                && let Some(edge) = self
                    .edges
                    .iter_mut()
                    .rev()
                    .find(|e| e.from == from && e.to == to)
            {
                edge.danger = true;
            }
            return;
        }
        self.edges.push(Edge {
            from: from.to_owned(),
            to: to.to_owned(),
            label: label.to_owned(),
            danger,
        });
    }

    /// Builds the graph of a run: every binding with its subjects and
    /// role, and every workload whose service account a binding names.
    pub fn of(index: &RunIndex) -> Graph {
        let model = Model::new(&index.roles).with_paths(&index.file_names);
        let cluster = ClusterView::alone(index);
        let mut graph = Graph::default();
        for binding in &index.bindings {
            let role = model.role_of(binding);
            // The role's label lists what it can grant anywhere; whether
            // this binding reaches it depends on the binding's scope.
            let what = |namespaced: bool| -> Vec<String> {
                let mut kinds: Vec<String> = role
                    .map(|role| {
                        model
                            .rules_of(role)
                            .iter()
                            .flat_map(|g| dangers(g.rule, namespaced))
                            .map(|h| h.what)
                            .collect()
                    })
                    .unwrap_or_default();
                kinds.sort();
                kinds.dedup();
                kinds
            };
            let kinds = what(role.is_some_and(|r| !r.cluster));
            let danger = !what(!binding.cluster).is_empty();
            let binding_id = graph.node(
                format!("binding {}", binding.describe()),
                vec![binding.describe()],
                Shape::Binding,
            );
            let role_label = match role {
                Some(role) => {
                    let mut lines = vec![role.describe()];
                    lines.extend(kinds.iter().take(4).cloned());
                    if kinds.len() > 4 {
                        lines.push(format!("and {} more", kinds.len() - 4));
                    }
                    lines
                }
                None => vec![format!(
                    "{} {} (not found)",
                    binding.role_kind, binding.role_name
                )],
            };
            let role_key = role.map_or_else(
                || format!("missing {} {}", binding.role_kind, binding.role_name),
                |r| format!("role {}", r.describe()),
            );
            let role_id = graph.node(role_key, role_label, Shape::Role);
            if danger {
                graph.mark(&role_id);
                graph.mark(&binding_id);
            }
            graph.edge(&binding_id, &role_id, "grants", danger);
            for subject in &binding.subjects {
                let namespace = if subject.kind == "ServiceAccount" {
                    binding.subject_namespace(subject)
                } else {
                    None
                };
                let name = match namespace {
                    Some(ns) => format!("{} {ns}/{}", subject.kind, subject.name),
                    None => format!("{} {}", subject.kind, subject.name),
                };
                let subject_id = graph.node(format!("subject {name}"), vec![name], Shape::Subject);
                if danger {
                    graph.mark(&subject_id);
                }
                graph.edge(&subject_id, &binding_id, "bound by", danger);
                for workload in index
                    .workloads
                    .iter()
                    .filter(|w| names_workload(binding, subject, w))
                {
                    let label = format!("{} {}", workload.object.kind, qualified(&workload.object));
                    let workload_id =
                        graph.node(format!("workload {label}"), vec![label], Shape::Workload);
                    let mounted = token_mounted(&cluster, workload);
                    let edge_label = if mounted {
                        "runs as"
                    } else {
                        "runs as (no token)"
                    };
                    if danger && mounted {
                        graph.mark(&workload_id);
                    }
                    graph.edge(&workload_id, &subject_id, edge_label, danger && mounted);
                }
            }
        }
        graph
    }

    /// Graphviz DOT.
    pub fn to_dot(&self) -> String {
        // Names come from the linted tree: control characters (newlines
        // included) are shown as symbols before DOT quoting.
        let quote = |s: &str| {
            crate::text::clean_line(s)
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        };
        let mut out = String::from(
            "digraph rbac {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
        );
        for node in &self.nodes {
            let shape = match node.shape {
                Shape::Workload => "box3d",
                Shape::Subject => "ellipse",
                Shape::Binding => "box",
                Shape::Role => "note",
            };
            let label: Vec<String> = node.label.iter().map(|l| quote(l)).collect();
            let color = if node.danger {
                ", color=\"#c00000\", fontcolor=\"#c00000\""
            } else {
                ""
            };
            out.push_str(&format!(
                "  {} [shape={shape}, label=\"{}\"{color}];\n",
                node.id,
                label.join("\\n")
            ));
        }
        for edge in &self.edges {
            let style = if edge.danger {
                ", color=\"#c00000\", penwidth=2"
            } else {
                ""
            };
            out.push_str(&format!(
                "  {} -> {} [label=\"{}\"{style}];\n",
                edge.from,
                edge.to,
                quote(&edge.label)
            ));
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        // Mermaid labels are quoted; quotes and markup are entity-escaped.
        let escape = |s: &str| {
            crate::text::clean_line(s)
                .replace('&', "#amp;")
                .replace('"', "#quot;")
                .replace('<', "#lt;")
                .replace('>', "#gt;")
        };
        let mut out = String::from("flowchart LR\n");
        for node in &self.nodes {
            let label = node
                .label
                .iter()
                .map(|l| escape(l))
                .collect::<Vec<_>>()
                .join("<br/>");
            let (open, close) = match node.shape {
                Shape::Workload => ("[[", "]]"),
                Shape::Subject => ("([", "])"),
                Shape::Binding => ("[", "]"),
                Shape::Role => ("[/", "/]"),
            };
            out.push_str(&format!("  {}{open}\"{label}\"{close}\n", node.id));
        }
        for edge in &self.edges {
            out.push_str(&format!(
                "  {} -->|\"{}\"| {}\n",
                edge.from,
                escape(&edge.label),
                edge.to
            ));
        }
        out.push_str("  classDef danger stroke:#c00000,color:#c00000,stroke-width:2px\n");
        let dangerous: Vec<&str> = self
            .nodes
            .iter()
            .filter(|n| n.danger)
            .map(|n| n.id.as_str())
            .collect();
        if !dangerous.is_empty() {
            out.push_str(&format!("  class {} danger\n", dangerous.join(",")));
        }
        for (i, edge) in self.edges.iter().enumerate() {
            if edge.danger {
                out.push_str(&format!(
                    "  linkStyle {i} stroke:#c00000,stroke-width:2px\n"
                ));
            }
        }
        out
    }
}
