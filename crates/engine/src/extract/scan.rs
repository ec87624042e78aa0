//! Scanned copies of real PDFs, for the OCR tests and benchmark: pages rendered to grey images
//! (optionally with a scanner's noise and a slight rotation) and put back as image-only pages.

use lopdf::{dictionary, Object, Stream};

use super::ocr::{GreyImage, Renderer};

/// How a page looks once scanned.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    pub dpi: u32,
    /// Standard deviation of the grey-level noise (0–255 scale); 0 for a clean scan.
    pub noise: f32,
    /// Share of pixels flipped to black or white (dust and specks).
    pub specks: f32,
    /// Rotation in degrees (a page fed slightly askew).
    pub angle: f32,
    pub seed: u64,
}

impl Look {
    /// The looks the tests and benchmark use: "clean" (300 dpi, as rendered), "noisy" (grey
    /// noise and specks) and "askew" (some noise, turned 1.5°).
    pub fn named(name: &str) -> Result<Look, String> {
        match name {
            "clean" => Ok(Look::clean(300)),
            "noisy" => Ok(Look {
                noise: 18.0,
                specks: 0.002,
                ..Look::clean(300)
            }),
            "askew" => Ok(Look {
                noise: 8.0,
                angle: 1.5,
                ..Look::clean(300)
            }),
            other => Err(format!("unknown look {other:?} (clean, noisy or askew)")),
        }
    }

    pub fn clean(dpi: u32) -> Look {
        Look {
            dpi,
            noise: 0.0,
            specks: 0.0,
            angle: 0.0,
            seed: 1,
        }
    }
}

/// A small deterministic random source (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// A standard normal sample (Box–Muller).
    fn normal(&mut self) -> f32 {
        let u = self.unit().max(1e-7);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// The page as a scanner would give it: rotated about its centre (white where the page was
/// not), with noise and specks.
pub fn degrade(image: &GreyImage, look: &Look) -> GreyImage {
    let (w, h) = (image.width as usize, image.height as usize);
    let mut out = if look.angle.abs() > 1e-3 {
        let (sin, cos) = look.angle.to_radians().sin_cos();
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let mut rotated = vec![255u8; w * h];
        for y in 0..h {
            for x in 0..w {
                // Where this output pixel comes from in the upright page (bilinear).
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let sx = cos * dx + sin * dy + cx;
                let sy = -sin * dx + cos * dy + cy;
                if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                    continue;
                }
                let (x0, y0) = (sx as usize, sy as usize);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let p = |x: usize, y: usize| image.pixels[y * w + x] as f32;
                let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
                let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
                rotated[y * w + x] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
        rotated
    } else {
        image.pixels.clone()
    };
    let mut rng = Rng(look.seed.max(1));
    if look.noise > 0.0 || look.specks > 0.0 {
        for p in out.iter_mut() {
            let mut v = *p as f32 + look.noise * rng.normal();
            if look.specks > 0.0 && rng.unit() < look.specks {
                v = if rng.unit() < 0.5 { 0.0 } else { 255.0 };
            }
            *p = v.clamp(0.0, 255.0) as u8;
        }
    }
    GreyImage {
        width: image.width,
        height: image.height,
        dpi: image.dpi,
        pixels: out,
    }
}

/// A scanned copy: the PDF, and the images of its scanned pages by page number.
pub struct ScannedCopy {
    pub pdf: Vec<u8>,
    pub images: Vec<(u32, GreyImage)>,
}

/// A copy of the PDF `bytes` whose pages chosen by `scan` are replaced by images of themselves
/// as `look` says (no text layer left on them); the other pages are kept as they are. Also
/// returns the images, by page number, for comparing with other OCR programs.
pub fn scanned_copy(
    bytes: &[u8],
    scan: &dyn Fn(u32) -> bool,
    look: &Look,
) -> Result<ScannedCopy, String> {
    let renderer = Renderer::open(bytes)?;
    let mut doc = lopdf::Document::load_mem(bytes).map_err(|e| e.to_string())?;
    let mut images = Vec::new();
    for (number, page_id) in doc.get_pages() {
        if !scan(number) {
            continue;
        }
        let upright = renderer.render(number, look.dpi)?;
        let image = degrade(
            &upright,
            &Look {
                seed: look.seed.wrapping_add(number as u64),
                ..*look
            },
        );
        let (x0, y0, x1, y1) = media_box(&doc, page_id);
        let mut stream = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => image.width as i64,
                "Height" => image.height as i64,
                "ColorSpace" => "DeviceGray",
                "BitsPerComponent" => 8,
            },
            image.pixels.clone(),
        );
        stream.compress().map_err(|e| e.to_string())?;
        let image_id = doc.add_object(stream);
        let draw = format!("q {} 0 0 {} {x0} {y0} cm /Scan Do Q", x1 - x0, y1 - y0);
        let content_id = doc.add_object(Stream::new(dictionary! {}, draw.into_bytes()));
        let page = doc
            .get_object_mut(page_id)
            .and_then(Object::as_dict_mut)
            .map_err(|e| e.to_string())?;
        page.set("Contents", Object::Reference(content_id));
        page.set(
            "Resources",
            dictionary! { "XObject" => dictionary! { "Scan" => Object::Reference(image_id) } },
        );
        images.push((number, image));
    }
    doc.prune_objects();
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(ScannedCopy { pdf: out, images })
}

/// A page's MediaBox, inherited from its parents when it has none (US Letter when none has).
fn media_box(doc: &lopdf::Document, page: lopdf::ObjectId) -> (f64, f64, f64, f64) {
    let mut at = Some(page);
    for _ in 0..32 {
        let Some(dict) = at.and_then(|id| doc.get_dictionary(id).ok()) else {
            break;
        };
        if let Ok(array) = dict.get_deref(b"MediaBox", doc).and_then(Object::as_array) {
            let n: Vec<f64> = array
                .iter()
                .filter_map(|o| doc.dereference(o).ok())
                .filter_map(|(_, o)| o.as_float().ok().map(f64::from))
                .collect();
            if let [a, b, c, d] = n[..] {
                return (a.min(c), b.min(d), a.max(c), b.max(d));
            }
        }
        at = dict.get(b"Parent").and_then(Object::as_reference).ok();
    }
    (0.0, 0.0, 612.0, 792.0)
}

/// The image as a binary PGM file (what the `tesseract` command reads, through Leptonica).
pub fn pgm(image: &GreyImage) -> Vec<u8> {
    let mut out = format!("P5\n{} {}\n255\n", image.width, image.height).into_bytes();
    out.extend_from_slice(&image.pixels);
    out
}

/// Page numbers from a list such as `3`, `3-5` or `2,4-6`.
pub fn page_numbers(spec: &str) -> Vec<u32> {
    let number = |s: &str| {
        s.trim()
            .parse::<u32>()
            .unwrap_or_else(|_| panic!("not a page number: {s:?}"))
    };
    spec.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (number(a)..=number(b)).collect(),
            None => vec![number(part)],
        })
        .collect()
}

/// The original's text of one page as `pdftotext` (poppler-utils) gives it: the reference OCR is
/// compared with.
pub fn pdftotext_page(pdf: &std::path::Path, page: u32) -> String {
    let out = std::process::Command::new("pdftotext")
        .args([
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
            "-enc",
            "UTF-8",
        ])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Character accuracy of `read` against `reference` (1 − edit distance ÷ reference length, at
/// least 0), after both are put in one form: NFKC, runs of whitespace as one space, and no
/// spaces next to Chinese or Japanese characters (where writers and OCR disagree).
pub fn char_accuracy(reference: &str, read: &str) -> f64 {
    let a = comparable(reference);
    let b = comparable(read);
    if a.is_empty() {
        return if b.is_empty() { 1.0 } else { 0.0 };
    }
    // Levenshtein distance, one row at a time.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    (1.0 - row[b.len()] as f64 / a.len() as f64).max(0.0)
}

fn comparable(text: &str) -> Vec<char> {
    use unicode_normalization::UnicodeNormalization;
    let words: Vec<String> = text
        .nfkc()
        .collect::<String>()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut out: Vec<char> = Vec::new();
    for word in words {
        let wide = |c: &char| crate::text::is_cjk(*c) || ('\u{3000}'..='\u{303F}').contains(c);
        let joins = out.last().is_some_and(wide) || word.chars().next().as_ref().is_some_and(wide);
        if !out.is_empty() && !joins {
            out.push(' ');
        }
        out.extend(word.chars());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_counts_edits_against_the_reference() {
        assert_eq!(char_accuracy("abcd", "abcd"), 1.0);
        assert_eq!(char_accuracy("abcd", "abxd"), 0.75);
        assert_eq!(char_accuracy("a  b\nc", "a b c"), 1.0);
        assert_eq!(char_accuracy("中文 文档", "中文文档"), 1.0);
        assert_eq!(char_accuracy("ﬁle", "file"), 1.0);
        assert_eq!(char_accuracy("abc", ""), 0.0);
    }

    #[test]
    fn degrading_keeps_the_size_and_is_repeatable() {
        let image = GreyImage {
            width: 40,
            height: 30,
            dpi: 300,
            pixels: (0..1200).map(|i| (i % 256) as u8).collect(),
        };
        let look = Look {
            noise: 10.0,
            specks: 0.01,
            angle: 2.0,
            ..Look::clean(300)
        };
        let a = degrade(&image, &look);
        assert_eq!((a.width, a.height, a.pixels.len()), (40, 30, 1200));
        assert_eq!(a.pixels, degrade(&image, &look).pixels);
        assert_ne!(a.pixels, image.pixels);
        assert_eq!(degrade(&image, &Look::clean(300)).pixels, image.pixels);
    }
}
