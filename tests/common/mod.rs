//! Shared helpers for the end-to-end tests: the real `quire` binary in a fresh library, the real
//! models, real PDFs from Debian's texlive-latex-base-doc, and PDFs generated here.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream, StringFormat};

pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("QUIRE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::data_dir().unwrap().join("quire").join("models"));
    assert!(
        dir.join("all-MiniLM-L6-v2")
            .join("model.safetensors")
            .is_file(),
        "models are missing in {}: run `python3 models/fetch.py`",
        dir.display()
    );
    dir
}

/// A PDF from Debian's texlive-latex-base-doc.
pub fn texlive_pdf(relative: &str) -> PathBuf {
    let path = Path::new("/usr/share/doc/texlive-doc/latex").join(relative);
    assert!(
        path.is_file(),
        "{} is missing: apt-get install texlive-latex-base-doc",
        path.display()
    );
    path
}

/// A fresh library folder for one test.
pub struct Quire {
    pub root: tempfile::TempDir,
}

impl Quire {
    pub fn new() -> Quire {
        Quire {
            root: tempfile::tempdir().unwrap(),
        }
    }

    pub fn library(&self) -> PathBuf {
        self.root.path().join("library")
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        let d = self.root.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quire"));
        cmd.env("QUIRE_LIBRARY", self.library())
            .env("QUIRE_MODELS", models_dir())
            .arg("--device")
            .arg("cpu");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs with `--json` and parses stdout as one JSON value (or one per line).
    pub fn json(&self, args: &[&str]) -> (i32, Vec<serde_json::Value>) {
        let out = self.command().arg("--json").args(args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let values = match serde_json::from_str::<serde_json::Value>(&stdout) {
            Ok(v) => vec![v],
            Err(_) => stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect(),
        };
        (out.status.code().unwrap_or(-1), values)
    }

    pub fn status(&self) -> serde_json::Value {
        let (_, v) = self.json(&["status"]);
        v.into_iter().next().unwrap()
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn finish(mut doc: Document, page_ids: Vec<lopdf::ObjectId>, pages_id: lopdf::ObjectId) -> Vec<u8> {
    let count = page_ids.len() as i64;
    let kids: Vec<Object> = page_ids.into_iter().map(Object::Reference).collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Adds one page per entry of `pages`, each line shown with font F1 of `resources` as the string
/// `encode` makes of it.
fn text_pages(
    doc: &mut Document,
    pages_id: lopdf::ObjectId,
    resources: lopdf::ObjectId,
    pages: &[&str],
    encode: impl Fn(&str) -> Object,
) -> Vec<lopdf::ObjectId> {
    let mut ids = Vec::new();
    for text in pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 11.into()]),
            Operation::new("Td", vec![50.into(), 780.into()]),
            Operation::new("TL", vec![14.into()]),
        ];
        for line in text.lines() {
            ops.push(Operation::new("Tj", vec![encode(line)]));
            ops.push(Operation::new("T*", vec![]));
        }
        ops.push(Operation::new("ET", vec![]));
        let content = doc.add_object(Stream::new(
            dictionary! {},
            Content { operations: ops }.encode().unwrap(),
        ));
        ids.push(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content, "Resources" => resources,
        }));
    }
    ids
}

/// A PDF with one page per entry, each line of an entry a line of Helvetica text.
pub fn text_pdf(pages: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let ids = text_pages(&mut doc, pages_id, resources, pages, |line| {
        Object::string_literal(line)
    });
    finish(doc, ids, pages_id)
}

/// A PDF whose pages hold only graphics, like a scan without OCR.
pub fn image_only_pdf(pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut ids = Vec::new();
    for i in 0..pages {
        let ops = vec![
            Operation::new("rg", vec![0.2.into(), 0.2.into(), (0.1 * i as f32).into()]),
            Operation::new("re", vec![50.into(), 50.into(), 400.into(), 600.into()]),
            Operation::new("f", vec![]),
        ];
        let content = doc.add_object(Stream::new(
            dictionary! {},
            Content { operations: ops }.encode().unwrap(),
        ));
        ids.push(doc.add_object(
            dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content },
        ));
    }
    finish(doc, ids, pages_id)
}

/// A PDF of CJK text: a Type0 font with Identity-H encoding whose CIDs are the characters'
/// code points, and a ToUnicode map, as PDF producers write Chinese text.
pub fn cjk_pdf(pages: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut chars: Vec<char> = pages
        .iter()
        .flat_map(|p| p.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    chars.sort();
    chars.dedup();
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for group in chars.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", group.len()));
        for c in group {
            cmap.push_str(&format!("<{:04X}> <{:04X}>\n", *c as u32, *c as u32));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let to_unicode = doc.add_object(Stream::new(dictionary! {}, cmap.into_bytes()));
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor", "FontName" => "SimSun", "Flags" => 4,
        "FontBBox" => vec![0.into(), (-200).into(), 1000.into(), 900.into()],
        "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 700, "StemV" => 80,
    });
    let descendant = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "SimSun", "FontDescriptor" => descriptor,
        "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"), "Ordering" => Object::string_literal("Identity"), "Supplement" => 0 },
        "DW" => 1000,
    });
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "SimSun", "Encoding" => "Identity-H",
        "DescendantFonts" => vec![Object::Reference(descendant)], "ToUnicode" => to_unicode,
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let ids = text_pages(&mut doc, pages_id, resources, pages, |line| {
        let bytes: Vec<u8> = line
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(|c| (c as u16).to_be_bytes())
            .collect();
        Object::String(bytes, StringFormat::Hexadecimal)
    });
    finish(doc, ids, pages_id)
}

/// An encrypted copy of `src` (user password "secret"), made with qpdf.
pub fn encrypted_pdf(src: &Path, dest: &Path) {
    let status = Command::new("qpdf")
        .args(["--encrypt", "secret", "owner", "256", "--"])
        .arg(src)
        .arg(dest)
        .status()
        .expect("qpdf is missing: apt-get install qpdf");
    // 3: done, with warnings about the input (texlive PDFs have a few).
    assert!(
        matches!(status.code(), Some(0 | 3)),
        "qpdf failed: {status}"
    );
}
