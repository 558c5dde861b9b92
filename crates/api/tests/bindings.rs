//! The UI's TypeScript types are generated from these Rust types and committed under
//! `ui/src/bindings`. This test fails when they drift; `UPDATE_BINDINGS=1 cargo test -p
//! gatehouse-api --test bindings` writes them anew.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatehouse_api::*;
use ts_rs::TS;

fn export_all(dir: &Path) {
    macro_rules! export {
        ($($t:ty),* $(,)?) => { $( <$t>::export_all_to(dir).expect(stringify!($t)); )* };
    }
    export!(
        Problem,
        ErrorCode,
        Me,
        Page<User>,
        SyncPage,
        Membership,
        Health,
    );
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "ts"))
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(&p).unwrap())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn typescript_bindings_match_the_rust_types() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        std::fs::create_dir_all(&committed).unwrap();
        export_all(&committed);
    }
    let fresh = tempfile::tempdir().unwrap();
    export_all(fresh.path());
    let expected = read_dir(fresh.path());
    assert!(expected.len() >= 10, "exported only {} files", expected.len());
    let actual = read_dir(&committed);
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "ui/src/bindings has other files than the Rust types produce; run UPDATE_BINDINGS=1 cargo test -p gatehouse-api --test bindings"
    );
    for (name, text) in &expected {
        assert_eq!(
            &actual[name], text,
            "ui/src/bindings/{name} is out of date; run UPDATE_BINDINGS=1 cargo test -p gatehouse-api --test bindings"
        );
    }
}
