//! The bundled Kubernetes schema (data/schema) is what the generator
//! (examples/gen_k8s_schema.rs, from k8s-openapi) produces today.

mod common;

use std::process::Command;

#[test]
fn bundled_schema_is_current() {
    // `cargo test` builds the examples next to the test binaries.
    let examples = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples"))
        .unwrap();
    let generator = examples.join(format!("gen_k8s_schema{}", std::env::consts::EXE_SUFFIX));
    if !generator.is_file() {
        // Running this test alone does not build the examples.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--locked", "--example", "gen_k8s_schema"])
            .current_dir(common::root())
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert!(generator.is_file(), "{} is missing", generator.display());
    let output = Command::new(generator).output().unwrap();
    assert!(output.status.success());
    let fresh = String::from_utf8(output.stdout).unwrap();
    let committed =
        std::fs::read_to_string(common::root().join("data/schema/kubernetes-v1.37.json")).unwrap();
    assert!(
        fresh == committed,
        "data/schema/kubernetes-v1.37.json is stale: run `cargo run --release --example gen_k8s_schema > data/schema/kubernetes-v1.37.json`"
    );
}
