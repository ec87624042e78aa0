//! Scanned PDFs read by OCR, made from real PDFs of Debian's texlive packages: pages rendered
//! at 300 dpi (clean, noisy, askew) and put back as image-only pages (`extract::scan`). Their
//! text is compared with the originals' text layer (pdftotext): character accuracy.
//!
//! Its own `main` (harness = false): this test binary is also the extraction child, as the
//! `quire` executable is, so that OCR runs as it does for users (a child process with
//! `OMP_THREAD_LIMIT=1`, the memory limit and the watchdog).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lopdf::dictionary;
use quire_engine::extract::scan::{char_accuracy, pdftotext_page, scanned_copy, Look, ScannedCopy};
use quire_engine::{
    AddOptions, AddStatus, Engine, ExtractedPdf, Extractor, FailureKind, Isolation, LibraryOptions,
    OcrOptions, ReadProgress, SearchOptions,
};

mod common;

use common::{texlive, zh_pdf};

fn extractor(languages: &str) -> Extractor {
    let mut extractor = Extractor::new(Isolation::current_exe().unwrap());
    extractor.ocr = OcrOptions::parse(languages);
    extractor
}

/// Writes a scanned copy of `pdf` (pages chosen by `scan`) into `dir`.
fn scanned(dir: &Path, pdf: &Path, scan: &dyn Fn(u32) -> bool, look: &str) -> PathBuf {
    let bytes = std::fs::read(pdf).unwrap();
    let ScannedCopy { pdf: copy, images } =
        scanned_copy(&bytes, scan, &Look::named(look).unwrap()).unwrap();
    assert!(!images.is_empty());
    let name = format!(
        "{}-{look}-{}.pdf",
        pdf.file_stem().unwrap().to_string_lossy(),
        images
            .iter()
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>()
            .join("_")
    );
    let path = dir.join(name);
    std::fs::write(&path, copy).unwrap();
    path
}

fn read(extractor: &Extractor, path: &Path) -> (ExtractedPdf, Vec<ReadProgress>) {
    let mut seen = Vec::new();
    let pdf = extractor
        .extract(path, &mut |p| seen.push(p))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (pdf, seen)
}

/// Clean scans of prose pages read back with ≥ 0.95 character accuracy; noisy and askew ones
/// reported (and not far behind); OCR's progress reported page by page.
fn scanned_pages_read_back_as_their_text(dir: &Path) {
    let english = extractor("eng");
    let cases: [(&str, u32, &str, f64); 6] = [
        ("clsguide.pdf", 4, "clean", 0.95),
        ("fntguide.pdf", 4, "clean", 0.95),
        ("usrguide.pdf", 3, "clean", 0.95),
        ("lppl.pdf", 3, "clean", 0.95),
        ("lppl.pdf", 1, "noisy", 0.93),
        ("lppl.pdf", 2, "askew", 0.93),
    ];
    for (name, page, look, floor) in cases {
        let original = texlive(name);
        let path = scanned(dir, &original, &|n| n == page, look);
        let (pdf, progress) = read(&english, &path);
        let text = &pdf.pages[page as usize - 1].text;
        let accuracy = char_accuracy(&pdftotext_page(&original, page), text);
        let layer = pdf
            .ocr
            .iter()
            .find(|l| l.page == page)
            .expect("an OCR layer");
        eprintln!(
            "{name} p. {page} ({look}): accuracy {accuracy:.4}, confidence {:.1}, {} words",
            layer.confidence,
            layer.words.len()
        );
        assert!(
            accuracy >= floor,
            "{name} p. {page} ({look}): {accuracy:.4}"
        );
        assert_eq!(pdf.ocr.len(), 1, "only the scanned page is read by OCR");
        assert!(
            progress.iter().any(|p| p.ocr_page == 1 && p.ocr_pages == 1),
            "{progress:?}"
        );
    }
}

/// A Chinese page (the CTeX FAQ), read with the Chinese data (and English, for its code).
fn a_chinese_page_is_read_with_chi_sim(dir: &Path) {
    let original = zh_pdf("ctex-faq.pdf");
    let path = scanned(dir, &original, &|n| n == 18, "clean");
    let (pdf, _) = read(&extractor("eng+chi_sim"), &path);
    let text = &pdf.pages[17].text;
    let accuracy = char_accuracy(&pdftotext_page(&original, 18), text);
    eprintln!("ctex-faq.pdf p. 18 (clean, eng+chi_sim): accuracy {accuracy:.4}");
    assert!(accuracy >= 0.9, "{accuracy:.4}: {text}");
    assert!(text.contains("编号"), "{text}");
}

/// Text pages keep their text exactly; only the scanned ones are read by OCR, and each word's
/// box and characters line up with the page's text.
fn a_mixed_pdf_keeps_its_text_pages_and_reads_only_the_scans(dir: &Path) {
    let original = texlive("lppl.pdf");
    let path = scanned(dir, &original, &|n| n == 2 || n == 5, "clean");
    // Page 5 is a scan with a stamp over it (as scanners and Bates numbering add): a few words
    // of text layer do not make it a text page.
    let mut doc = lopdf::Document::load(&path).unwrap();
    let page = doc.get_pages()[&5];
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let stamp = doc.add_object(lopdf::Stream::new(
        dictionary! {},
        b"BT /Stamp 9 Tf 40 20 Td (QUIRE-000123) Tj ET".to_vec(),
    ));
    let dict = doc
        .get_object_mut(page)
        .and_then(lopdf::Object::as_dict_mut)
        .unwrap();
    let scan = dict.get(b"Contents").unwrap().clone();
    dict.set("Contents", vec![scan, stamp.into()]);
    let resources = dict.get_mut(b"Resources").unwrap().as_dict_mut().unwrap();
    resources.set("Font", dictionary! { "Stamp" => font });
    doc.save(&path).unwrap();

    let english = extractor("eng");
    let (before, _) = read(&english, &original);
    let (mixed, progress) = read(&english, &path);
    assert_eq!(before.pages.len(), mixed.pages.len());
    for (a, b) in before.pages.iter().zip(&mixed.pages) {
        if b.number != 2 && b.number != 5 {
            assert_eq!(a, b, "text page {} changed", a.number);
        }
    }
    let ocr_pages: Vec<u32> = mixed.ocr.iter().map(|l| l.page).collect();
    assert_eq!(ocr_pages, [2, 5]);
    assert!(progress.iter().any(|p| p.ocr_page == 2 && p.ocr_pages == 2));
    for layer in &mixed.ocr {
        let text: Vec<char> = mixed.pages[layer.page as usize - 1].text.chars().collect();
        for w in &layer.words {
            assert!(w.start < w.end && w.end as usize <= text.len(), "{w:?}");
            assert!(
                w.x >= 0.0 && w.y >= 0.0 && w.x + w.w <= 1.0 && w.y + w.h <= 1.0,
                "{w:?}"
            );
        }
        let first: String = text[layer.words[0].start as usize..layer.words[0].end as usize]
            .iter()
            .collect();
        assert!(text.iter().collect::<String>().starts_with(&first));
    }
    assert!(mixed.pages[1]
        .text
        .contains("Distribution of only part of the Work"));
}

/// A page whose image would take 400 MB to decode fails alone, with its reason, quickly; the
/// document's other scanned page is read.
fn an_image_bomb_fails_its_page_only(dir: &Path) {
    use std::io::Write;
    let original = texlive("lppl.pdf");
    let path = scanned(dir, &original, &|n| n <= 2, "clean");
    let mut doc = lopdf::Document::load(&path).unwrap();
    let page = doc.get_pages()[&1];
    let (side, zeros) = (20_000i64, vec![0u8; 1 << 20]);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    for _ in 0..(side * side) as usize / zeros.len() {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = lopdf::Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => side, "Height" => side,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "FlateDecode",
        },
        encoder.finish().unwrap(),
    );
    let bomb = doc.add_object(bomb);
    let resources = dictionary! { "XObject" => dictionary! { "Scan" => bomb } };
    doc.get_object_mut(page)
        .and_then(lopdf::Object::as_dict_mut)
        .unwrap()
        .set("Resources", resources);
    let bombed = dir.join("bomb.pdf");
    doc.save(&bombed).unwrap();

    let english = extractor("eng");
    let t = Instant::now();
    let (pdf, _) = read(&english, &bombed);
    let took = t.elapsed();
    let warning = pdf.loss().expect("the lost page is reported");
    eprintln!("bomb: {warning} ({took:.1?})");
    assert!(
        warning.contains("page 1") && warning.contains("20000 × 20000 pixels"),
        "{warning}"
    );
    assert!(pdf.pages[0].text.is_empty());
    assert!(pdf.pages[1].text.contains("Distribution of only part"));
    assert!(took < english.limits.page_timeout, "{took:?}");
}

/// With OCR off, a scan is refused with a sentence that says so.
fn with_ocr_off_a_scan_is_refused_saying_why(dir: &Path) {
    let path = scanned(dir, &texlive("lppl.pdf"), &|_| true, "clean");
    let err = extractor("off").extract(&path, &mut |_| {}).unwrap_err();
    assert_eq!(err.kind, FailureKind::NoText);
    assert!(err.message.contains("OCR is turned off"), "{}", err.message);
}

/// Through the engine: a scanned document is added, found, its words' boxes are there for the
/// viewer, its passages say they come from OCR; adding it again reads nothing again.
fn a_scanned_document_is_searchable_and_citable(dir: &Path) {
    let path = scanned(dir, &texlive("lppl.pdf"), &|_| true, "clean");
    let mut options = LibraryOptions::new(dir.join("library"), dir.join("models"));
    options.embedding_model = Some(common::embedding_model_dir());
    options.extractor = extractor("eng");
    let engine = Engine::open(options).unwrap();
    let add = |engine: &Engine| {
        engine
            .add(
                std::slice::from_ref(&path),
                &AddOptions::default(),
                &|_: &_| true,
            )
            .unwrap()
    };
    let report = add(&engine);
    assert_eq!(report.files[0].status, AddStatus::Added, "{report:?}");
    let doc = &engine.documents().unwrap()[0];
    assert_eq!((doc.pages, doc.ocr_pages, doc.uncertain_pages), (8, 8, 0));

    let hits = engine
        .search(
            "may I distribute only part of the Work?",
            &SearchOptions::default(),
        )
        .unwrap();
    let hit = hits
        .iter()
        .find(|h| h.chunk.passage.text.contains("Distribution of only part"))
        .unwrap_or_else(|| panic!("{hits:#?}"));
    let passage = &hit.chunk.passage;
    assert!(passage.ocr_confidence.unwrap() > 90.0, "{passage:?}");
    let layer = engine
        .page_ocr(hit.chunk.document_id, passage.page_start)
        .unwrap()
        .expect("the page's OCR words");
    let cited: Vec<_> = layer
        .words
        .iter()
        .filter(|w| (w.end as usize) > passage.char_start)
        .collect();
    assert!(!cited.is_empty());
    assert!(engine
        .page_ocr(hit.chunk.document_id, 99)
        .unwrap()
        .is_none());

    let t = Instant::now();
    let again = add(&engine);
    assert_eq!(again.files[0].status, AddStatus::Unchanged);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

/// One check, given a fresh folder of its own.
type Test = fn(&Path);

fn main() {
    quire_engine::extract::run_worker_if_requested();
    // Names to run (as libtest takes them); libtest's own options and their values are ignored.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with('-') && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a)
        .collect();
    let tests: [(&str, Test); 6] = [
        (
            "scanned_pages_read_back_as_their_text",
            scanned_pages_read_back_as_their_text,
        ),
        (
            "a_chinese_page_is_read_with_chi_sim",
            a_chinese_page_is_read_with_chi_sim,
        ),
        (
            "a_mixed_pdf_keeps_its_text_pages_and_reads_only_the_scans",
            a_mixed_pdf_keeps_its_text_pages_and_reads_only_the_scans,
        ),
        (
            "an_image_bomb_fails_its_page_only",
            an_image_bomb_fails_its_page_only,
        ),
        (
            "with_ocr_off_a_scan_is_refused_saying_why",
            with_ocr_off_a_scan_is_refused_saying_why,
        ),
        (
            "a_scanned_document_is_searchable_and_citable",
            a_scanned_document_is_searchable_and_citable,
        ),
    ];
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        test(dir.path());
        println!("test {name} ... ok ({:.1?})", t.elapsed());
    }
}
