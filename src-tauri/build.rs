// The app's config is src-tauri/tauri.conf.json; the commands listed here become permissions that src-tauri/capabilities grants to the main window.
const COMMANDS: &[&str] = &[
    "status",
    "list_documents",
    "add_documents",
    "remove_document",
    "document_bytes",
    "page_ocr",
    "ask",
    "cancel",
    "list_conversations",
    "conversation_messages",
    "rename_conversation",
    "delete_conversation",
    "discover_models",
    "get_settings",
    "save_settings",
    "ocr_languages",
    "fetch_models",
    "take_opened_paths",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri.conf.json and the capabilities are valid");
}
