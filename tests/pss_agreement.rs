//! The per-rule pod security checks (`rules/pod_security`) and the Pod
//! Security evaluator (`pss`) must read a pod alike: an explicit `null`
//! reads as an absent field in both, as the API server decodes it, and
//! where a rule mirrors a PSS check their verdicts agree.

mod common;

use common::lint_only;
use kslint::k8s;
use kslint::pss::{self, Level, Policy, Version};
use kslint::source::FileId;
use kslint::yaml::{Limits, parse_stream};

/// A Pod with `spec` (indented by two) as its spec.
fn pod(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n{spec}")
}

/// Whether `rule` reports anything on `text`.
fn fires(rule: &str, text: &str) -> bool {
    !lint_only(&[("pod.yaml", text)], &[rule])
        .diagnostics
        .is_empty()
}

/// Whether the PSS check `check` fails the first pod of `text` at `policy`.
fn fails(check: &str, policy: Policy, text: &str) -> bool {
    let stream = parse_stream(text, Limits::default());
    let objects = k8s::objects(FileId(0), &stream.documents, &[]);
    let Some(pod) = objects.first().and_then(|o| o.pod.as_ref()) else {
        panic!("no pod in {text}");
    };
    pss::evaluate(pod, policy).iter().any(|v| v.check == check)
}

const BASELINE: Policy = Policy {
    level: Level::Baseline,
    version: Version::Latest,
};
const RESTRICTED: Policy = Policy {
    level: Level::Restricted,
    version: Version::Latest,
};

/// One field written three ways: absent, as `null`, and set.
struct Case {
    rule: &'static str,
    check: &'static str,
    policy: Policy,
    absent: &'static str,
    null: &'static str,
    set: &'static str,
}

const CONTAINER: &str = "  containers:\n  - name: c\n    image: app@sha256:0\n";

/// Holds a rule and its PSS check to one verdict on a field written three
/// ways, and the rule to one verdict for `null` and absent.
fn null_reads_as_absent(case: Case) {
    for (how, spec) in [
        ("absent", case.absent),
        ("null", case.null),
        ("set", case.set),
    ] {
        let text = pod(&format!("{CONTAINER}{spec}"));
        assert_eq!(
            fires(case.rule, &text),
            fails(case.check, case.policy, &text),
            "{} and {} disagree when the field is {how}:\n{text}",
            case.rule,
            case.check
        );
    }
    let absent = pod(&format!("{CONTAINER}{}", case.absent));
    let null = pod(&format!("{CONTAINER}{}", case.null));
    assert_eq!(
        fires(case.rule, &absent),
        fires(case.rule, &null),
        "{} reads null unlike an absent field",
        case.rule
    );
}

/// The API server decodes `hostPath: null` as a volume with no hostPath.
#[test]
fn host_path_null_is_no_host_path_volume() {
    null_reads_as_absent(Case {
        rule: "host-path",
        check: "hostPathVolumes",
        policy: BASELINE,
        absent: "  volumes:\n  - name: v\n",
        null: "  volumes:\n  - name: v\n    hostPath: null\n",
        set: "  volumes:\n  - name: v\n    hostPath:\n      path: /data\n",
    });
}

/// `seccompProfile: null` sets no profile: the container runs unconfined
/// unless the runtime defaults it.
#[test]
fn seccomp_profile_null_is_no_profile() {
    null_reads_as_absent(Case {
        rule: "seccomp-unconfined",
        check: "seccompProfile_restricted",
        policy: RESTRICTED,
        absent: "  securityContext: {}\n",
        null: "  securityContext:\n    seccompProfile: null\n",
        set: "  securityContext:\n    seccompProfile:\n      type: RuntimeDefault\n",
    });
}

/// A sysctl with no name is the sysctl `""` to the API server, as is one
/// whose name is `null`; neither is in the safe set.
#[test]
fn a_sysctl_without_a_name_is_the_empty_name() {
    null_reads_as_absent(Case {
        rule: "unsafe-sysctl",
        check: "sysctls",
        policy: BASELINE,
        absent: "  securityContext:\n    sysctls:\n    - value: \"1\"\n",
        null: "  securityContext:\n    sysctls:\n    - name: null\n      value: \"1\"\n",
        set: "  securityContext:\n    sysctls:\n    - name: kernel.shm_rmid_forced\n      value: \"1\"\n",
    });
}

/// `add: [null]` is the capability `""` to Go, which no allow-list holds.
#[test]
fn a_null_capability_is_the_empty_name() {
    let caps = |item: &str| {
        pod(&format!(
            "{CONTAINER}    securityContext:\n      capabilities:\n        add: [{item}]\n"
        ))
    };
    for item in ["null", "\"\""] {
        let text = caps(item);
        assert!(fires("dangerous-capability", &text), "{text}");
        assert!(fails("capabilities_baseline", BASELINE, &text), "{text}");
    }
    assert!(!fires("dangerous-capability", &caps("CHOWN")));
}
