//! The extraction child's input: any bytes, read as the child reads a file (lopdf, the repair of
//! a broken cross-reference table, pdf-extract page by page). A reader panic must be caught and
//! described (per page, or for the whole file while loading); one that escapes is a crash here.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use quire_engine::extract::extract_in_this_thread;

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // Panics the engine catches are expected on hostile input; libFuzzer's hook would abort on
    // them, so they pass quietly (QUIRE_FUZZ_VERBOSE=1 prints them). A panic that escapes
    // `extract_in_this_thread` still aborts: the fuzz_target! wrapper catches it at its
    // boundary and aborts, and this target's own checks print theirs.
    QUIET.call_once(|| {
        let verbose = std::env::var_os("QUIRE_FUZZ_VERBOSE").is_some();
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = info
                .location()
                .is_some_and(|l| l.file().contains("fuzz_targets"));
            if verbose || ours {
                default(info);
            }
        }));
    });
    let Ok((count, pages)) = extract_in_this_thread(data.to_vec()) else {
        return;
    };
    assert_eq!(pages.len(), count as usize, "one result per page");
    let mut last = 0;
    for p in &pages {
        assert!(
            p.page.number > last,
            "pages in order, numbered from 1, each once"
        );
        last = p.page.number;
        assert!(p.error.is_none() || p.page.text.is_empty());
        assert!(!p.page.text.contains('\0'), "cleaned text holds no NUL");
    }
});
