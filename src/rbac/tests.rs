use super::authorize::{Danger, dangers};
use super::*;

fn builtin(name: &str) -> &'static RoleFact {
    BUILTIN
        .iter()
        .find(|r| r.object.name == name)
        .unwrap_or_else(|| panic!("no built-in {name}"))
}

fn granted_dangers<'a>(model: &Model<'a>, role: &'a RoleFact) -> Vec<Danger> {
    let mut kinds: Vec<Danger> = model
        .rules_of(role)
        .iter()
        .flat_map(|g| dangers(g.rule, false))
        .map(|h| h.danger)
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn builtin_roles_are_known() {
    assert!(BUILTIN.len() >= 30);
    assert!(BUILTIN.iter().all(|r| r.file.is_none() && r.cluster));
    let model = Model::new(&[]);
    assert_eq!(
        granted_dangers(&model, builtin("cluster-admin")),
        Danger::ALL
    );
    let view = granted_dangers(&model, builtin("view"));
    assert!(view.is_empty(), "view grants {view:?}");
    let edit = granted_dangers(&model, builtin("edit"));
    for danger in [
        Danger::CreatePods,
        Danger::PodExec,
        Danger::PortForward,
        Danger::SecretsRead,
        Danger::EscalateBindImpersonate,
        Danger::TokenCreate,
    ] {
        assert!(edit.contains(&danger), "edit lacks {danger:?}");
    }
    // admin aggregates edit, which aggregates view.
    let admin_rules = model.rules_of(builtin("admin")).len();
    let edit_rules = model.rules_of(builtin("edit")).len();
    assert!(admin_rules > edit_rules && edit_rules > model.rules_of(builtin("view")).len());
}

#[test]
fn run_roles_aggregate_into_builtin_ones() {
    let text = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: crd-editor\n  labels: {rbac.authorization.k8s.io/aggregate-to-view: \"true\"}\nrules:\n- apiGroups: [\"\"]\n  resources: [secrets]\n  verbs: [get]\n";
    let stream = parse_stream(text, Limits::default());
    let objects = crate::k8s::objects(FileId(0), &stream.documents, &[]);
    let roles: Vec<RoleFact> = objects.iter().filter_map(RoleFact::from_manifest).collect();
    let model = Model::new(&roles);
    let view = model.rules_of(builtin("view"));
    assert!(view.iter().any(|g| g.source.file == Some(FileId(0))));
    assert!(granted_dangers(&model, builtin("admin")).contains(&Danger::SecretsRead));
}
