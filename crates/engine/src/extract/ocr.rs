//! Pages without a text layer (scans), read by OCR: rendered with poppler (through its GLib
//! API), recognised by Tesseract, with each word's box kept so a cited passage can be drawn on
//! the page. Runs in the extraction child, under its memory and time limits.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tesseract_plumbing::tesseract_sys::{
    TessOcrEngineMode_OEM_LSTM_ONLY, TessPageSegMode_PSM_AUTO,
};
use tesseract_plumbing::TessBaseApi;
use unicode_normalization::UnicodeNormalization;

/// Pages are rendered for OCR at this resolution (Tesseract reads best at about 300 dpi).
pub const OCR_DPI: u32 = 300;

/// A rendered page larger than this (in pixels) is rendered at a lower resolution instead.
const MAX_RENDER_PIXELS: f64 = 40e6;

/// An image on a page to be OCR'd with more pixels than this fails that page: decoding it
/// would take gigabytes (an "image bomb"). A letter page scanned in colour at 1200 dpi has
/// 135 million.
pub const MAX_IMAGE_PIXELS: u64 = 150_000_000;

/// Pages whose words Tesseract is on average less sure of than this (0–100) are marked as
/// uncertain in the library and in citations.
pub const LOW_CONFIDENCE: f32 = 70.0;

/// Below this mean confidence (0–100) what OCR read is mostly noise (text in a script the chosen
/// languages do not cover reads at about 20): the page counts as not read, with that reason.
pub const UNREADABLE: f32 = 40.0;

/// How to OCR pages without text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OcrOptions {
    /// Tesseract language codes (`eng`, `chi_sim`), tried together; empty: OCR is off.
    pub languages: Vec<String>,
}

impl OcrOptions {
    pub fn off() -> OcrOptions {
        OcrOptions { languages: vec![] }
    }

    pub fn enabled(&self) -> bool {
        !self.languages.is_empty()
    }

    /// The languages in Tesseract's form (`eng+chi_sim`).
    pub fn spec(&self) -> String {
        self.languages.join("+")
    }

    pub fn parse(spec: &str) -> OcrOptions {
        OcrOptions {
            languages: spec
                .split(['+', ',', ' '])
                .map(str::trim)
                .filter(|l| !l.is_empty() && *l != "off")
                .map(str::to_string)
                .collect(),
        }
    }

    /// English, plus the UI's language where its data is installed; what is installed when
    /// English is not. Nothing when no language data is installed.
    pub fn default_for(ui_language: Option<&str>) -> OcrOptions {
        let installed = installed_languages();
        let mut languages: Vec<String> = Vec::new();
        if installed.iter().any(|l| l == "eng") {
            languages.push("eng".into());
        }
        let wanted = match ui_language.unwrap_or("") {
            l if l.starts_with("zh-TW") || l.starts_with("zh-Hant") => Some("chi_tra"),
            l if l.starts_with("zh") => Some("chi_sim"),
            l if l.starts_with("ja") => Some("jpn"),
            l if l.starts_with("de") => Some("deu"),
            l if l.starts_with("fr") => Some("fra"),
            l if l.starts_with("es") => Some("spa"),
            _ => None,
        };
        if let Some(w) = wanted.filter(|w| installed.iter().any(|l| l == w)) {
            languages.push(w.to_string());
        }
        if languages.is_empty() {
            languages.extend(installed.into_iter().take(1));
        }
        OcrOptions { languages }
    }

    /// Refuses languages whose data is not installed, naming them and what is.
    pub fn check(&self) -> Result<(), String> {
        let installed = installed_languages();
        let missing: Vec<&str> = self
            .languages
            .iter()
            .filter(|l| !installed.contains(l))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "no OCR language data for {} (installed: {}); on Debian/Ubuntu install \
             tesseract-ocr-{}",
            missing.join(", "),
            if installed.is_empty() {
                "none".to_string()
            } else {
                installed.join(", ")
            },
            missing[0].replace('_', "-")
        ))
    }
}

/// The folder Tesseract reads its language data from: `TESSDATA_PREFIX`, else the first of the
/// usual places that exists.
pub fn tessdata_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TESSDATA_PREFIX") {
        return Some(PathBuf::from(dir));
    }
    [
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
        "/usr/share/tessdata",
        "/usr/local/share/tessdata",
        "/opt/homebrew/share/tessdata",
    ]
    .iter()
    .map(Path::new)
    .find(|p| p.is_dir())
    .map(Path::to_path_buf)
}

/// The OCR languages whose data is installed (`eng`, `chi_sim`, …), sorted; not the
/// orientation data (`osd`) or the maths data (`equ`).
pub fn installed_languages() -> Vec<String> {
    let Some(dir) = tessdata_dir() else {
        return vec![];
    };
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let lang = name.strip_suffix(".traineddata")?;
            (lang != "osd" && lang != "equ").then(|| lang.to_string())
        })
        .collect();
    found.sort();
    found
}

/// A word read by OCR: its characters in the page's text (`start..end`, in chars) and its box
/// as fractions of the page's width and height, from the top left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct WordBox {
    pub start: u32,
    pub end: u32,
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// What OCR read on one page: the words' boxes (the text is the page's text) and how sure it
/// was, on average over the words (0–100).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct OcrLayer {
    pub page: u32,
    pub confidence: f32,
    pub words: Vec<WordBox>,
}

/// A page image, 8-bit grey, one byte per pixel, rows without padding.
pub struct GreyImage {
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub pixels: Vec<u8>,
}

/// A PDF opened with poppler, for rendering pages.
pub struct Renderer {
    doc: poppler::Document,
}

impl Renderer {
    pub fn open(bytes: &[u8]) -> Result<Renderer, String> {
        poppler::Document::from_data(bytes, None)
            .map(|doc| Renderer { doc })
            .map_err(|e| format!("the page renderer cannot open it ({e})"))
    }

    pub fn pages(&self) -> u32 {
        self.doc.n_pages().max(0) as u32
    }

    /// Page `number` (from 1) as a grey image at `dpi`, or lower when that would be more than
    /// [`MAX_RENDER_PIXELS`].
    pub fn render(&self, number: u32, dpi: u32) -> Result<GreyImage, String> {
        let page = self
            .doc
            .page(number as i32 - 1)
            .ok_or_else(|| format!("the renderer has no page {number}"))?;
        let (w_pt, h_pt) = page.size();
        if !(w_pt > 0.0 && h_pt > 0.0) {
            return Err("the page has no size".into());
        }
        let mut dpi = dpi as f64;
        let pixels = |dpi: f64| (w_pt * dpi / 72.0) * (h_pt * dpi / 72.0);
        if pixels(dpi) > MAX_RENDER_PIXELS {
            dpi *= (MAX_RENDER_PIXELS / pixels(dpi)).sqrt();
        }
        let width = (w_pt * dpi / 72.0).round().max(1.0) as i32;
        let height = (h_pt * dpi / 72.0).round().max(1.0) as i32;
        let mut surface = cairo::ImageSurface::create(cairo::Format::Rgb24, width, height)
            .map_err(|e| format!("cannot make a {width} × {height} image ({e})"))?;
        {
            let cr = cairo::Context::new(&surface).map_err(|e| e.to_string())?;
            cr.set_source_rgb(1.0, 1.0, 1.0);
            cr.paint().map_err(|e| e.to_string())?;
            cr.scale(dpi / 72.0, dpi / 72.0);
            page.render_for_printing(&cr);
        }
        surface.flush();
        let stride = surface.stride() as usize;
        let data = surface.data().map_err(|e| e.to_string())?;
        let mut pixels = Vec::with_capacity(width as usize * height as usize);
        for row in data.chunks(stride).take(height as usize) {
            for px in row[..width as usize * 4].chunks_exact(4) {
                // Cairo's RGB24 is 0xXXRRGGBB in native order: B, G, R, X on little-endian.
                let (b, g, r) = (px[0] as u32, px[1] as u32, px[2] as u32);
                pixels.push(((r * 299 + g * 587 + b * 114) / 1000) as u8);
            }
        }
        Ok(GreyImage {
            width: width as u32,
            height: height as u32,
            dpi: dpi.round() as u32,
            pixels,
        })
    }
}

/// Tesseract, started once with the languages and reused for every page.
pub struct Recognizer {
    api: TessBaseApi,
}

/// What OCR read on a page: its text (cleaned like extracted text) and the words' boxes.
pub struct OcrText {
    pub text: String,
    pub confidence: f32,
    pub words: Vec<WordBox>,
}

impl Recognizer {
    pub fn new(options: &OcrOptions) -> Result<Recognizer, String> {
        options.check()?;
        let mut api = TessBaseApi::create();
        let lang = CString::new(options.spec()).map_err(|e| e.to_string())?;
        let datapath =
            tessdata_dir().and_then(|d| CString::new(d.to_string_lossy().as_bytes()).ok());
        api.init_4(
            datapath.as_deref(),
            Some(&lang),
            TessOcrEngineMode_OEM_LSTM_ONLY,
        )
        .map_err(|_| {
            format!(
                "Tesseract could not start with the languages {}",
                options.spec()
            )
        })?;
        api.set_page_seg_mode(TessPageSegMode_PSM_AUTO);
        Ok(Recognizer { api })
    }

    /// Reads a page image.
    pub fn read(&mut self, image: &GreyImage) -> Result<OcrText, String> {
        let (w, h) = (image.width as i32, image.height as i32);
        self.api
            .set_image(&image.pixels, w, h, 1, w)
            .map_err(|e| format!("the page image was refused ({e:?})"))?;
        self.api.set_source_resolution(image.dpi as i32);
        self.api
            .recognize()
            .map_err(|_| "the OCR engine failed on the page".to_string())?;
        let tsv = self
            .api
            .get_tsv_text(0)
            .map_err(|_| "the OCR engine gave no result".to_string())?;
        let tsv = tsv.as_ref().to_string_lossy();
        Ok(layout(&tsv, image.width as f32, image.height as f32))
    }
}

/// Builds a page's text from Tesseract's TSV (one row per word, with its block, paragraph and
/// line): words of a line joined by a space (none between two Chinese or Japanese characters),
/// lines of a paragraph joined like extracted text (a hyphen at a line's end joins the word),
/// paragraphs by a blank line. Each word's place in that text is kept with its box.
pub fn layout(tsv: &str, width: f32, height: f32) -> OcrText {
    let mut text = String::new();
    let mut chars = 0u32;
    let mut words = Vec::new();
    let mut confidence_sum = 0f64;
    let mut confidence_weight = 0f64;
    let mut last_line: Option<(u32, u32, u32)> = None;
    let mut last_par: Option<(u32, u32)> = None;
    for row in tsv.lines() {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<f32>().unwrap_or(0.0);
        let word: String = cols[11].nfkc().filter(|c| !c.is_control()).collect();
        let word = word.trim();
        if word.is_empty() {
            continue;
        }
        let (block, par, line) = (num(2) as u32, num(3) as u32, num(4) as u32);
        let (left, top, w, h, conf) = (num(6), num(7), num(8), num(9), num(10));
        let before = if text.is_empty() {
            ""
        } else if last_par != Some((block, par)) {
            "\n\n"
        } else if last_line != Some((block, par, line)) {
            // A new line of the same paragraph: "docu-" + "ment" is one word.
            let hyphenated = text.ends_with('-')
                && text[..text.len() - 1]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphabetic)
                && word.chars().next().is_some_and(char::is_lowercase);
            if hyphenated {
                text.pop();
                chars -= 1;
                if let Some(prev) = words.last_mut() {
                    let prev: &mut WordBox = prev;
                    prev.end = prev.end.min(chars);
                }
                ""
            } else if joins_without_space(&text, word) {
                ""
            } else {
                " "
            }
        } else if joins_without_space(&text, word) {
            ""
        } else {
            " "
        };
        text.push_str(before);
        chars += before.chars().count() as u32;
        let start = chars;
        text.push_str(word);
        chars += word.chars().count() as u32;
        words.push(WordBox {
            start,
            end: chars,
            x: left / width,
            y: top / height,
            w: w / width,
            h: h / height,
        });
        if conf >= 0.0 {
            let n = word.chars().count() as f64;
            confidence_sum += conf as f64 * n;
            confidence_weight += n;
        }
        last_line = Some((block, par, line));
        last_par = Some((block, par));
    }
    let confidence = if confidence_weight > 0.0 {
        (confidence_sum / confidence_weight) as f32
    } else {
        0.0
    };
    OcrText {
        text,
        confidence,
        words,
    }
}

/// Chinese and Japanese are written without spaces: no space goes between two such characters.
fn joins_without_space(before: &str, word: &str) -> bool {
    let wide = |c: char| crate::text::is_cjk(c) || ('\u{3000}'..='\u{303F}').contains(&c);
    before.chars().next_back().is_some_and(wide) && word.chars().next().is_some_and(wide)
}

/// The largest image (width × height in pixels) drawn on page `number`, directly or in a form
/// it draws, as the PDF declares it (before decoding anything).
pub fn largest_image(doc: &lopdf::Document, page: lopdf::ObjectId) -> (u64, u64) {
    let mut largest = (0, 0);
    let Ok((direct, inherited)) = doc.get_page_resources(page) else {
        return largest;
    };
    let mut todo: Vec<&lopdf::Dictionary> = direct.into_iter().collect();
    todo.extend(
        inherited
            .iter()
            .filter_map(|id| doc.get_dictionary(*id).ok()),
    );
    let mut seen = 0;
    while let Some(resources) = todo.pop() {
        seen += 1;
        if seen > 64 {
            break;
        }
        let Ok(xobjects) = resources
            .get_deref(b"XObject", doc)
            .and_then(|o| o.as_dict())
        else {
            continue;
        };
        for (_, object) in xobjects.iter() {
            let Ok(stream) = doc.dereference(object).and_then(|(_, o)| o.as_stream()) else {
                continue;
            };
            let dict = &stream.dict;
            let subtype = dict
                .get(b"Subtype")
                .and_then(|o| o.as_name())
                .unwrap_or(b"");
            if subtype == b"Image" {
                let dim = |key: &[u8]| {
                    dict.get_deref(key, doc)
                        .ok()
                        .and_then(|o| o.as_i64().ok())
                        .unwrap_or(0)
                        .max(0) as u64
                };
                let (w, h) = (dim(b"Width"), dim(b"Height"));
                if w.saturating_mul(h) > largest.0.saturating_mul(largest.1) {
                    largest = (w, h);
                }
            } else if subtype == b"Form" {
                if let Ok(inner) = dict.get_deref(b"Resources", doc).and_then(|o| o.as_dict()) {
                    todo.push(inner);
                }
            }
        }
    }
    largest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(block: u32, par: u32, line: u32, left: u32, word: &str, conf: f32) -> String {
        format!("5\t1\t{block}\t{par}\t{line}\t1\t{left}\t100\t50\t20\t{conf}\t{word}")
    }

    #[test]
    fn layout_joins_lines_paragraphs_hyphens_and_chinese() {
        let tsv = [
            row(1, 1, 1, 10, "Quire", 90.0),
            row(1, 1, 1, 70, "reads", 90.0),
            row(1, 1, 2, 10, "docu-", 80.0),
            row(1, 1, 3, 10, "ments.", 80.0),
            row(1, 2, 1, 10, "中文", 60.0),
            row(1, 2, 1, 70, "文档", 60.0),
            row(1, 2, 2, 10, "PDF", 60.0),
            "4\t1\t1\t1\t1\t0\t0\t0\t0\t0\t-1\t".to_string(),
        ]
        .join("\n");
        let page = layout(&tsv, 1000.0, 2000.0);
        assert_eq!(page.text, "Quire reads documents.\n\n中文文档 PDF");
        let words: Vec<String> = page
            .words
            .iter()
            .map(|w| {
                page.text
                    .chars()
                    .skip(w.start as usize)
                    .take((w.end - w.start) as usize)
                    .collect()
            })
            .collect();
        assert_eq!(
            words,
            ["Quire", "reads", "docu", "ments.", "中文", "文档", "PDF"]
        );
        assert!((page.words[1].x - 0.07).abs() < 1e-6 && (page.words[1].y - 0.05).abs() < 1e-6);
        // Weighted by characters: (5+5)*90 + (4+6)*80 + (2+2+3)*60 over 27 characters.
        let expected = (10.0 * 90.0 + 11.0 * 80.0 + 7.0 * 60.0) / 28.0;
        assert!(
            (page.confidence - expected).abs() < 1.0,
            "{}",
            page.confidence
        );
        assert_eq!(crate::text::clean_page(&page.text), page.text);
    }

    #[test]
    fn languages_parse() {
        assert_eq!(
            OcrOptions::parse("eng+chi_sim").languages,
            ["eng", "chi_sim"]
        );
        assert!(!OcrOptions::parse("off").enabled());
        assert!(!OcrOptions::parse("").enabled());
    }
}
