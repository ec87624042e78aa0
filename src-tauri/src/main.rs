// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    quire_engine::extract::run_worker_if_requested();
    quire_app::run();
}
