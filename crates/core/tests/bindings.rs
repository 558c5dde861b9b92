//! The UI's TypeScript types are generated from these Rust types and committed under
//! `ui/src/bindings`. This test fails when they drift; `UPDATE_BINDINGS=1 cargo test -p
//! gatehouse-core --test bindings` writes them anew.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatehouse_api::*;
use gatehouse_core::ipc::*;
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
        IpcError,
        AppStatus,
        UserFilter,
        UserRows,
        SyncReport,
        CacheInfo,
        ProfileSummary,
        ProfileInput,
        SignIn,
        SignInProvider,
        gatehouse_core::settings::Settings,
        gatehouse_core::settings::LogLevel,
        gatehouse_core::settings::Theme,
        UpdateInfo,
        UpdateProgress,
        LogInfo,
        gatehouse_core::changes::Change,
        gatehouse_core::changes::Changed,
        UserDetail,
        InvitationFilter,
        InvitationRows,
        BulkPreviewItem,
        UsageFilter,
        UsageChart,
        SpendSubject,
        BudgetStatus,
        Overview,
        AuditFilter,
        AuditRows,
        WorkspaceRow,
        GroupRow,
        GroupMemberRow,
        GroupPolicy,
        Model,
        ScimToken,
        ScimTokenCreate,
        IdentitySettings,
        IdentitySettingsInput,
        AccessProfiles,
        Channel,
        ChannelCreate,
        ChannelPatch,
        DeliveryAttempt,
        EventType,
        ChannelFormat,
        AuditExportFormat,
    );
}

/// Every `.ts` file below `dir`, by path relative to it.
fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "ts") {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
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
    assert!(
        expected.len() >= 10,
        "exported only {} files",
        expected.len()
    );
    let actual = read_dir(&committed);
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "ui/src/bindings has other files than the Rust types produce; run UPDATE_BINDINGS=1 cargo test -p gatehouse-core --test bindings"
    );
    for (name, text) in &expected {
        assert_eq!(
            &actual[name], text,
            "ui/src/bindings/{name} is out of date; run UPDATE_BINDINGS=1 cargo test -p gatehouse-core --test bindings"
        );
    }
}
