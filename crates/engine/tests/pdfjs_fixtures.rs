//! Twelve real-world PDFs from pdf.js's test corpus that Quire once misread (see
//! `shared/fixtures/pdfjs/README.md` beside the repository). Each must be read with text that
//! shares most of `pdftotext`'s words, or fail with a sentence meant for a person: never a
//! panic's text, Debug output or Rust jargon.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use quire_engine::{Extractor, FailureKind, Isolation};

/// `shared/` sits beside the repository root (`/work/main` and its worktrees share `/work/shared`).
fn fixtures_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/pdfjs");
    assert!(
        dir.is_dir(),
        "{} is missing: the pdf.js fixtures live beside the repository",
        dir.display()
    );
    dir
}

/// Lower-cased runs of letters and digits, one entry per distinct word.
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

fn pdftotext(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils, see scripts/setup.sh)");
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A message a person can read: no panic payload, Debug output or Rust terms.
fn is_sentence(message: &str) -> bool {
    const JARGON: [&str; 10] = [
        "panicked",
        "panic",
        "unwrap",
        "assertion",
        "left ==",
        "{",
        "ObjectType",
        "Err(",
        "Some(",
        "::",
    ];
    !message.trim().is_empty()
        && !message.contains('\n')
        && !JARGON.iter().any(|j| message.contains(j))
}

/// What each file must give.
enum Expect {
    /// Text with at least this share of pdftotext's distinct words.
    Words(f64),
    /// Text with these words. pdftotext misreads these files (it prints glyph numbers as
    /// characters); the words were checked on the page rendered by pdftoppm.
    Seen(&'static [&'static str]),
    /// No text can be recovered (the fonts carry no character map; pdftotext prints glyph
    /// numbers): a failure of this kind, with a sentence.
    Fails(FailureKind),
}

const FIXTURES: [(&str, Expect); 12] = [
    ("calrgb.pdf", Expect::Words(0.95)),
    ("calgray.pdf", Expect::Words(0.95)),
    (
        "ThuluthFeatures.pdf",
        Expect::Seen(&["Dotless", "Forms", "Contextual", "Ligatures"]),
    ),
    ("complex_ttf_font.pdf", Expect::Fails(FailureKind::NoText)),
    ("issue13242.pdf", Expect::Words(0.95)),
    ("issue7454.pdf", Expect::Words(0.95)),
    ("issue1350.pdf", Expect::Words(0.95)),
    (
        "issue19802.pdf",
        Expect::Seen(&[
            "Àngel",
            "pidió",
            "bourguignon",
            "Reykjavík",
            "Östersund",
            "typographique",
        ]),
    ),
    ("mixedfonts.pdf", Expect::Words(0.95)),
    ("issue14821.pdf", Expect::Words(0.9)),
    ("issue6410.pdf", Expect::Words(0.95)),
    ("issue4436r.pdf", Expect::Words(0.95)),
];

#[test]
fn pdfjs_fixtures_are_read_or_fail_with_a_sentence() {
    let dir = fixtures_dir();
    let extractor = Extractor::new(Isolation::Thread);
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (name, expect) in FIXTURES {
        let path = dir.join(name);
        let reference = pdftotext(&path);
        let expected = words(&reference);
        let result = extractor.extract(&path, &mut |_| {});
        match (&result, &expect) {
            (Ok(pdf), _) => {
                let text: String = pdf
                    .pages
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                let got = words(&text);
                let share = expected.intersection(&got).count() as f64 / expected.len() as f64;
                report.push(format!(
                    "{name}: {} chars vs pdftotext {}, {:.0}% of its words",
                    text.chars().count(),
                    reference.chars().count(),
                    share * 100.0
                ));
                match expect {
                    Expect::Words(min) if share < min => {
                        failures.push(format!("{name}: only {:.0}% of words", share * 100.0))
                    }
                    Expect::Seen(seen) => {
                        for w in seen {
                            if !got.contains(&w.to_lowercase()) {
                                failures.push(format!("{name}: {w:?} missing from {text:?}"));
                            }
                        }
                    }
                    Expect::Fails(kind) => {
                        failures.push(format!("{name}: read, but should fail as {kind:?}"))
                    }
                    Expect::Words(_) => {}
                }
            }
            (Err(e), _) => {
                report.push(format!("{name}: failed: {} ({:?})", e.message, e.kind));
                if !is_sentence(&e.message) {
                    failures.push(format!("{name}: not a sentence: {:?}", e.message));
                }
                match expect {
                    Expect::Fails(kind) if kind == e.kind => {}
                    _ => failures.push(format!("{name}: failed: {}", e.message)),
                }
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{failures:#?}");
}
