//! OCR quality and speed on scanned copies of real PDFs: pages are rendered, degraded as a
//! scanner would (or not) and wrapped as image-only PDFs; Quire reads them back through its
//! isolated reader, and the text is compared with the original's text layer (`pdftotext`).
//! The page images are also written as PGM files, so that the `tesseract` command can read the
//! very same images in the same run (bench/ocr.sh).
//!
//! cargo run --release -p quire-engine --example ocr_eval -- --out DIR [--lang eng]
//!     [--look clean|noisy|askew] PDF:PAGES...      (PAGES: 3 or 3-5 or 3,7)
//! Prints one JSON object: per page accuracy, pages/s (Quire's OCR on the images alone, and
//! the whole reader: render + OCR), poppler's rendering time, peak memory of the reader process.
//!
//! ocr_eval --score REFERENCE.txt READ.txt   prints the character accuracy of one text.

use std::path::{Path, PathBuf};
use std::time::Instant;

use quire_engine::extract::ocr::{OcrOptions, Recognizer, Renderer, OCR_DPI};
use quire_engine::extract::scan::{
    char_accuracy, page_numbers, pdftotext_page, pgm, scanned_copy, Look, ScannedCopy,
};
use quire_engine::{Extractor, Isolation};

fn peak_child_rss_mib() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

fn main() {
    quire_engine::extract::run_worker_if_requested();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--score") {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        println!("{:.4}", char_accuracy(&read(&args[1]), &read(&args[2])));
        return;
    }
    let mut take = |flag: &str| -> Option<String> {
        let i = args.iter().position(|a| a == flag)?;
        let value = args[i + 1].clone();
        args.drain(i..=i + 1);
        Some(value)
    };
    let out = PathBuf::from(take("--out").expect("--out DIR"));
    let lang = take("--lang").unwrap_or_else(|| "eng".into());
    let look_name = take("--look").unwrap_or_else(|| "clean".into());
    let look = Look::named(&look_name).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&out).unwrap();
    let options = OcrOptions::parse(&lang);
    let mut extractor = Extractor::new(Isolation::current_exe().unwrap());
    extractor.ocr = options.clone();
    let mut recognizer = Recognizer::new(&options).expect("OCR starts");

    let mut rows = Vec::new();
    let (mut ocr_seconds, mut reader_seconds, mut pages_read) = (0.0, 0.0, 0usize);
    let mut render_seconds = 0.0;
    let (mut chars, mut weighted) = (0usize, 0.0);
    for spec in &args {
        let (pdf, pages) = spec.rsplit_once(':').expect("PDF:PAGES");
        let pdf = Path::new(pdf);
        let pages = page_numbers(pages);
        let bytes = std::fs::read(pdf).unwrap();
        let ScannedCopy {
            pdf: scanned,
            images,
        } = scanned_copy(&bytes, &|n| pages.contains(&n), &look).unwrap();
        let stem = pdf.file_stem().unwrap().to_string_lossy().into_owned();
        let scanned_path = out.join(format!("{stem}-{look_name}.pdf"));
        std::fs::write(&scanned_path, &scanned).unwrap();

        // The reader, as `quire add` runs it: render + OCR of the scanned pages, text of the rest.
        let t = Instant::now();
        let read = extractor.extract(&scanned_path, &mut |_| {}).unwrap();
        reader_seconds += t.elapsed().as_secs_f64();

        // Poppler's rendering alone, at the reader's resolution.
        let renderer = Renderer::open(&bytes).unwrap();
        for (number, _) in &images {
            let t = Instant::now();
            renderer.render(*number, OCR_DPI).unwrap();
            render_seconds += t.elapsed().as_secs_f64();
        }
        for (number, image) in &images {
            let name = format!("{stem}-{look_name}-p{number}");
            std::fs::write(out.join(format!("{name}.pgm")), pgm(image)).unwrap();
            // Quire's OCR alone, on the same image the tesseract command will read.
            let t = Instant::now();
            let alone = recognizer.read(image).unwrap();
            ocr_seconds += t.elapsed().as_secs_f64();
            pages_read += 1;
            let reference = pdftotext_page(pdf, *number);
            std::fs::write(out.join(format!("{name}.ref.txt")), &reference).unwrap();
            let text = &read.pages[*number as usize - 1].text;
            let accuracy = char_accuracy(&reference, text);
            let n = reference
                .split_whitespace()
                .map(|w| w.chars().count())
                .sum::<usize>();
            chars += n;
            weighted += accuracy * n as f64;
            let confidence = read
                .ocr
                .iter()
                .find(|l| l.page == *number)
                .map(|l| l.confidence)
                .unwrap_or(0.0);
            rows.push(serde_json::json!({
                "image": name,
                "pdf": pdf,
                "page": number,
                "chars": n,
                "accuracy": accuracy,
                "accuracy_alone": char_accuracy(&reference, &alone.text),
                "confidence": confidence,
                "words": read.ocr.iter().find(|l| l.page == *number).map_or(0, |l| l.words.len()),
            }));
        }
    }
    let report = serde_json::json!({
        "look": look_name,
        "lang": lang,
        "folder": out,
        "pages": pages_read,
        "accuracy": weighted / chars.max(1) as f64,
        "ocr_pages_per_s": pages_read as f64 / ocr_seconds,
        "reader_pages_per_s": pages_read as f64 / reader_seconds,
        "reader_peak_mib": peak_child_rss_mib(),
        "render_s_per_page": render_seconds / pages_read.max(1) as f64,
        "rows": rows,
    });
    println!("{report}");
}
