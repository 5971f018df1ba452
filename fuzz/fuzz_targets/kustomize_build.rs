//! A Kustomize build of a small tree written from the input: a top
//! kustomization, two manifests and a base (parts split at 0xFF bytes).
//! No panic, and the build stays within its bounds.
#![no_main]

use kslint::kustomize;
use kslint::tree::Tree;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const FILES: [&str; 5] = [
    "kustomization.yaml",
    "a.yaml",
    "b.yaml",
    "base/kustomization.yaml",
    "base/c.yaml",
];

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    std::fs::create_dir(dir.path().join("base")).ok();
    for (name, part) in FILES.iter().zip(data.split(|b| *b == 0xff)) {
        std::fs::write(dir.path().join(name), part).ok();
    }
    let tree = Arc::new(Tree::around(dir.path()));
    if let Ok(built) = kustomize::build_and_emit(dir.path(), tree, 1 << 20) {
        assert!(built.emitted.text.len() < 512 << 20);
    }
});
