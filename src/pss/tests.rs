use super::*;

fn policy(text: &str) -> Policy {
    text.parse().unwrap()
}

#[test]
fn versions_parse_as_the_admission_library_does() {
    assert_eq!(Version::parse("latest"), Some(Version::Latest));
    assert_eq!(Version::parse("v1.0"), Some(Version::Minor(0)));
    assert_eq!(Version::parse("v1.24"), Some(Version::Minor(24)));
    for bad in [
        "", "1.24", "v1.", "v1.024", "v2.0", "v1.2x", "Latest", "v1.-1",
    ] {
        assert_eq!(Version::parse(bad), None, "{bad}");
    }
    assert_eq!(Version::Minor(99).effective_minor(), NEWEST_MINOR);
    assert_eq!(
        Version::parse("v1.99999999").unwrap().effective_minor(),
        NEWEST_MINOR
    );
    assert_eq!(Version::parse("v1.99999999999999999999"), None);
}

#[test]
fn policies_parse_from_the_command_line() {
    assert_eq!(
        policy("restricted"),
        Policy {
            level: Level::Restricted,
            version: Version::Latest
        }
    );
    assert_eq!(policy("baseline:v1.24").to_string(), "baseline:v1.24");
    assert!("strict".parse::<Policy>().is_err());
    assert!("baseline:1.24".parse::<Policy>().is_err());
}

#[test]
fn restricted_replaces_the_baseline_checks_it_tightens() {
    let ids = check_ids(policy("restricted:latest"));
    assert!(ids.contains(&"capabilities_restricted"));
    assert!(!ids.contains(&"capabilities_baseline"));
    assert!(!ids.contains(&"hostPathVolumes"));
    assert!(!ids.contains(&"procMount"));
    assert!(ids.contains(&"procMount_restricted"));
    // Before v1.22 restricted had no capabilities check of its own.
    let old = check_ids(policy("restricted:v1.21"));
    assert!(old.contains(&"capabilities_baseline"));
    assert!(!old.contains(&"runAsUser"));
    assert!(check_ids(policy("privileged")).is_empty());
    // Baseline checks come first, in upstream order.
    assert_eq!(check_ids(policy("baseline:v1.0"))[0], "appArmorProfile");
    assert!(!check_ids(policy("baseline:v1.33")).contains(&"hostProbesAndHostLifecycle"));
    assert!(check_ids(policy("baseline:v1.34")).contains(&"hostProbesAndHostLifecycle"));
}

#[test]
fn sysctls_grow_with_versions() {
    assert!(!checks::safe_sysctl("net.ipv4.tcp_rmem", 31));
    assert!(checks::safe_sysctl("net.ipv4.tcp_rmem", 32));
    assert!(checks::safe_sysctl("kernel.shm_rmid_forced", 0));
    assert!(!checks::safe_sysctl("kernel.msgmax", NEWEST_MINOR));
}

fn pod(spec: &str) -> Vec<&'static str> {
    use crate::k8s::objects;
    use crate::source::FileId;
    use crate::yaml::{Limits, parse_stream};
    let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}");
    let stream = parse_stream(&text, Limits::default());
    let objects = objects(FileId(0), &stream.documents, &[]);
    evaluate(objects[0].pod.as_ref().unwrap(), policy("baseline"))
        .iter()
        .map(|v| v.check)
        .collect()
}

#[test]
fn null_capabilities_are_empty_strings_as_go_decodes_them() {
    let ids = pod(
        "  containers:\n  - name: c\n    securityContext:\n      capabilities:\n        add: [null]\n",
    );
    assert_eq!(ids, ["capabilities_baseline"]);
    assert!(pod("  containers:\n  - name: c\n").is_empty());
}
