//! The crate graph of the workspace, read from `cargo metadata`, against the layers it is meant
//! to have (issue 13):
//!
//! ```text
//! gatehouse-api ← gatehouse-store ← gatehouse-dataplane ← gatehouse-gateway
//!       ↑
//! gatehouse-core (gatehouse-gateway only behind `embedded-demo`) ← gatehouse (the desktop app)
//! ```
//!
//! A lower crate that gains a dependency on a higher one fails here, before the cycle it starts
//! grows; so does a workspace crate missing from [`LAYERS`], so a new crate is placed in the
//! graph on the day it appears. The crates under `crates/` stay free of Tauri, so that they
//! build and test headless.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// What one workspace crate may depend on among the workspace's own crates.
struct Layer {
    name: &'static str,
    /// Normal dependencies (also target-specific ones).
    normal: &'static [&'static str],
    /// Optional dependencies, each with the one feature that may turn it on.
    optional: &'static [(&'static str, &'static str)],
    /// Dev-dependencies: what its tests and benches may build on.
    dev: &'static [&'static str],
}

const API: &str = "gatehouse-api";
const STORE: &str = "gatehouse-store";
const DATAPLANE: &str = "gatehouse-dataplane";
const GATEWAY: &str = "gatehouse-gateway";
const CORE: &str = "gatehouse-core";
const APP: &str = "gatehouse";
const EMPTY_WINDOW: &str = "gatehouse-empty-window";

/// Lowest first. A crate's dev-dependencies stay within its own layer and those below, except
/// where a test needs a real gateway to talk to.
const LAYERS: &[Layer] = &[
    Layer {
        name: API,
        normal: &[],
        optional: &[],
        dev: &[],
    },
    Layer {
        name: STORE,
        normal: &[API],
        optional: &[],
        dev: &[API],
    },
    Layer {
        name: DATAPLANE,
        normal: &[API, STORE],
        optional: &[],
        dev: &[API, STORE],
    },
    Layer {
        name: GATEWAY,
        normal: &[API, STORE, DATAPLANE],
        optional: &[],
        dev: &[API, STORE, DATAPLANE],
    },
    // The desktop core is a client of the gateway over HTTP. It runs the demo gateway
    // in-process only with `embedded-demo`; its tests run a real gateway, and depend on the core
    // itself to get that feature. gatehouse-store joins `normal` only if the core truly needs it.
    Layer {
        name: CORE,
        normal: &[API],
        optional: &[(GATEWAY, "embedded-demo")],
        dev: &[API, CORE, GATEWAY],
    },
    Layer {
        name: APP,
        normal: &[API, CORE],
        optional: &[],
        dev: &[API, CORE, GATEWAY],
    },
    // The bench's memory floor: a bare Tauri window, nothing of ours in it.
    Layer {
        name: EMPTY_WINDOW,
        normal: &[],
        optional: &[],
        dev: &[],
    },
];

fn metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The workspace's own packages by name.
fn members(metadata: &Value) -> BTreeMap<String, &Value> {
    let ids: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| ids.contains(p["id"].as_str().unwrap_or_default()))
        .map(|p| (p["name"].as_str().expect("name").to_owned(), p))
        .collect()
}

fn dependencies(package: &Value) -> &[Value] {
    package["dependencies"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Whether a `[features]` entry turns on the dependency `dep`.
fn enables(entry: &str, dep: &str) -> bool {
    let entry = entry.strip_prefix("dep:").unwrap_or(entry);
    let crate_part = entry.split('/').next().unwrap_or(entry);
    crate_part.trim_end_matches('?') == dep
}

/// Every way in which `package` (named `name`) breaks its layer.
fn violations(
    name: &str,
    package: &Value,
    layer: &Layer,
    workspace: &BTreeSet<&str>,
) -> Vec<String> {
    let mut found = Vec::new();
    let no_features = serde_json::Map::new();
    let features = package["features"].as_object().unwrap_or(&no_features);
    for dep in dependencies(package) {
        let dep_name = dep["name"].as_str().expect("dependency name");
        if !workspace.contains(dep_name) {
            continue;
        }
        let kind = dep["kind"].as_str().unwrap_or("normal");
        let optional = dep["optional"].as_bool().unwrap_or(false);
        let allowed = match (kind, optional) {
            ("normal", false) => layer.normal.contains(&dep_name),
            ("normal", true) => layer.optional.iter().any(|(d, _)| *d == dep_name),
            ("dev", _) => layer.dev.contains(&dep_name),
            // Nothing in the workspace is a build tool for another crate.
            _ => false,
        };
        if !allowed {
            let what = if optional { "optional " } else { "" };
            found.push(format!(
                "{name} must not depend on {dep_name} ({what}{kind} dependency; allowed: normal \
                 {:?}, optional {:?}, dev {:?})",
                layer.normal, layer.optional, layer.dev
            ));
        }
    }
    // An optional dependency stays off unless its one feature is asked for: no other feature
    // names it, and the default set does not reach that feature.
    let listed = |f: &str| -> Vec<&str> {
        features
            .get(f)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    };
    for (dep, feature) in layer.optional {
        for f in features.keys().filter(|f| f != feature) {
            if listed(f).iter().any(|e| enables(e, dep)) {
                found.push(format!(
                    "{name}'s feature {f:?} turns on {dep}, which only {feature:?} may"
                ));
            }
        }
        let mut reached = BTreeSet::new();
        let mut next = vec!["default"];
        while let Some(f) = next.pop() {
            if reached.insert(f) {
                next.extend(listed(f));
            }
        }
        if reached.contains(feature) {
            found.push(format!(
                "{name}'s default features turn on {feature:?}: it must be asked for"
            ));
        }
    }
    found
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let metadata = metadata();
    let members = members(&metadata);
    let workspace: BTreeSet<&str> = members.keys().map(String::as_str).collect();
    let mut found = Vec::new();
    for (name, package) in &members {
        let Some(layer) = LAYERS.iter().find(|l| l.name == name) else {
            found.push(format!(
                "{name} is not in LAYERS (tests/layers.rs): add it with the workspace crates it \
                 may depend on"
            ));
            continue;
        };
        found.extend(violations(name, package, layer, &workspace));
    }
    assert!(
        found.is_empty(),
        "the layers are broken:\n{}",
        found.join("\n")
    );
    // The table is read, not skipped: the crates that exist today were all checked.
    for name in [API, GATEWAY, CORE, APP] {
        assert!(workspace.contains(name), "{name} is not a workspace member");
    }
}

#[test]
fn the_crates_under_crates_have_no_tauri() {
    let metadata = metadata();
    let members = members(&metadata);
    let mut checked = 0;
    let mut found = Vec::new();
    for (name, package) in &members {
        let manifest = package["manifest_path"].as_str().expect("manifest_path");
        if !std::path::Path::new(manifest)
            .components()
            .any(|c| c.as_os_str() == "crates")
        {
            continue;
        }
        checked += 1;
        for dep in dependencies(package) {
            let dep_name = dep["name"].as_str().expect("dependency name");
            if dep_name == "tauri" || dep_name.starts_with("tauri-") {
                found.push(format!("{name} depends on {dep_name}"));
            }
        }
    }
    assert!(checked >= 3, "only {checked} crates found under crates/");
    assert!(
        found.is_empty(),
        "the crates under crates/ must build without Tauri:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_app_runs_the_demo_gateway() {
    let metadata = metadata();
    let members = members(&metadata);
    let core = dependencies(members[APP])
        .iter()
        .find(|d| d["name"] == CORE && d["kind"].is_null())
        .expect("the app depends on gatehouse-core");
    assert!(
        core["features"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "embedded-demo")),
        "the app must turn on gatehouse-core's embedded-demo, or a fresh install opens no demo organisation"
    );
}
