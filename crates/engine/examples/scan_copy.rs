//! A scanned copy of a real PDF, for tests: the chosen pages rendered to grey images (as a
//! scanner would give them) and put back as image-only pages, without a text layer.
//!
//! cargo run --release -p quire-engine --example scan_copy -- IN.pdf OUT.pdf
//!     [--pages 1-3,7] [--look clean|noisy|askew]     (default: every page, clean, 300 dpi)

use quire_engine::extract::scan::{page_numbers, scanned_copy, Look, ScannedCopy};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take = |flag: &str| -> Option<String> {
        let i = args.iter().position(|a| a == flag)?;
        let value = args[i + 1].clone();
        args.drain(i..=i + 1);
        Some(value)
    };
    let pages: Option<Vec<u32>> = take("--pages").map(|spec| page_numbers(&spec));
    let look = Look::named(&take("--look").unwrap_or_else(|| "clean".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let [input, output] = &args[..] else {
        panic!("usage: scan_copy IN.pdf OUT.pdf [--pages 1-3] [--look clean|noisy|askew]");
    };
    let bytes = std::fs::read(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let chosen = |n: u32| pages.as_ref().is_none_or(|p| p.contains(&n));
    let ScannedCopy { pdf: copy, images } = scanned_copy(&bytes, &chosen, &look).unwrap();
    std::fs::write(output, copy).unwrap_or_else(|e| panic!("{output}: {e}"));
    eprintln!("{output}: {} page(s) scanned", images.len());
}
