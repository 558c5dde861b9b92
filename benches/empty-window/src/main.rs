//! An empty window with the same Tauri and WebKitGTK as the app, and nothing else: no plugin,
//! no state, a blank page. `make bench` reads its resident memory as `ui_floor_rss_mb`, so the
//! app's figure can be told apart from what any Tauri window costs. It depends on no workspace
//! crate.

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the empty window did not run");
}
