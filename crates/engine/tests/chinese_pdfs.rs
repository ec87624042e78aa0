//! Real Chinese PDFs from Debian's texlive-lang-chinese (unpacked by scripts/zh-manuals.sh):
//! the CTeX manual and FAQ (fonts with ToUnicode maps) and the Chinese lshort and TeX Live
//! install guide (Fandol CID fonts without them, read through the Adobe-GB1 table of
//! poppler-data). Every Chinese character pdftotext finds, Quire finds too.

use std::process::Command;

use quire_engine::{Extractor, Isolation};

mod common;

use common::zh_pdf;

fn chinese_characters(text: &str) -> usize {
    text.chars()
        .filter(|c| matches!(*c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF))
        .count()
}

#[test]
fn chinese_pdfs_give_every_chinese_character_pdftotext_gives() {
    assert!(
        std::path::Path::new("/usr/share/poppler/cidToUnicode/Adobe-GB1").is_file(),
        "poppler-data is missing: apt-get install poppler-data"
    );
    let extractor = Extractor::new(Isolation::Thread);
    for name in [
        "ctex.pdf",
        "ctex-faq.pdf",
        "lshort-zh-cn.pdf",
        "install-latex-guide-zh-cn.pdf",
    ] {
        let path = zh_pdf(name);
        let pdf = extractor.extract(&path, &mut |_| {}).unwrap();
        let ours: usize = pdf.pages.iter().map(|p| chinese_characters(&p.text)).sum();
        let reference = Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        assert!(reference.status.success());
        let theirs = chinese_characters(&String::from_utf8_lossy(&reference.stdout));
        eprintln!("{name}: {ours} Chinese characters, pdftotext {theirs}");
        assert!(theirs > 1000, "{name}: pdftotext found {theirs}");
        assert!(
            ours as f64 >= 0.99 * theirs as f64,
            "{name}: {ours} Chinese characters, pdftotext {theirs}"
        );
    }
    // The install guide's first page, word for word.
    let guide = extractor
        .extract(&zh_pdf("install-latex-guide-zh-cn.pdf"), &mut |_| {})
        .unwrap();
    assert!(
        guide.pages[0].text.contains("一份简短的关于"),
        "{}",
        guide.pages[0].text
    );
}
