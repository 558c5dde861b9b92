// The app's commands live in an inlined plugin, `console`, so that Tauri generates an
// allow/deny permission per command and the capability can grant exactly the ones the UI uses.
fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/**/*")
            .plugin(
                "console",
                tauri_build::InlinedPlugin::new().commands(&[
                    "app_status",
                    "app_version",
                    "list_users",
                    "sync_now",
                    "list_profiles",
                    "add_profile",
                    "edit_profile",
                    "remove_profile",
                    "activate_profile",
                    "sign_in",
                    "sign_out",
                    "get_settings",
                    "set_settings",
                    "cache_info",
                    "clear_cache",
                    "apply_change",
                    "user_detail",
                    "list_invitations",
                    "copy_invite_link",
                    "usage_chart",
                    "budget_status",
                    "overview",
                    "list_audit",
                    "list_workspaces",
                    "list_groups",
                    "list_group_members",
                    "list_models",
                    "export_users_csv",
                    "export_usage_csv",
                ]),
            ),
    )
    .expect("tauri build script");
}
