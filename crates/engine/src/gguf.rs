//! What a GGUF model file says about itself, read from its header without loading the model.
//!
//! A GGUF file starts with a fixed header, then key-value metadata (architecture, context
//! length, chat template, the tokenizer's vocabulary…), then one description per tensor, then
//! the tensor data. This reader reads the first three, keeps the few values that describe the
//! model, and skips the rest (a 256k-token vocabulary is skipped string by string, never held).
//!
//! It is meant for files nobody vouches for — other apps' downloads, half-finished copies, a
//! web page saved as `.gguf` — so every length in the file is checked against the file's size
//! and against llama.cpp's own limits before it is used, nothing is allocated in proportion to
//! a length the file claims (kept strings are capped at [`MAX_KEPT_STRING`]), and every
//! failure is an [`GgufError`] saying what is wrong, never a panic.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

mod names;
mod reader;
#[cfg(test)]
mod tests;

pub use names::{file_type_name, tensor_type_name};
use reader::Reader;

/// The longest string value kept (a model's name, its architecture): longer ones are skipped.
pub const MAX_KEPT_STRING: u64 = 64 * 1024;
/// llama.cpp refuses strings and arrays longer than this (`GGUF_MAX_STRING_LENGTH`,
/// `GGUF_MAX_ARRAY_ELEMENTS`).
const MAX_STRING: u64 = 1 << 30;
const MAX_ARRAY: u64 = 1 << 30;
/// More key-value pairs or tensors than any real model has (the largest have a few thousand).
const MAX_COUNT: u64 = 1 << 24;
/// Key names are short ("llama.context_length"); a long one means the bytes are not a key.
const MAX_KEY: u64 = 64 * 1024;
/// ggml tensors have at most four dimensions (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;
const DEFAULT_ALIGNMENT: u64 = 32;

/// The facts about a model that its GGUF header holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GgufInfo {
    /// GGUF format version (2 or 3).
    pub version: u32,
    /// `general.architecture`, e.g. "llama", "gemma3", "bert".
    pub architecture: Option<String>,
    /// `general.name`, as the converter wrote it.
    pub name: Option<String>,
    /// `general.file_type`: llama.cpp's code for the quantisation (15 = Q4_K_M).
    pub file_type: Option<u32>,
    /// The tensor type holding most of the weights' bytes (when `file_type` is absent).
    pub main_tensor_type: Option<u32>,
    /// `<architecture>.context_length`: the context the model was trained for, in tokens.
    pub context_length: Option<u64>,
    /// Whether `tokenizer.chat_template` is there and not empty.
    pub chat_template: bool,
    /// Whether `<architecture>.pooling_type` says the model pools its output into one vector
    /// (converted for embeddings, not for writing text).
    pub pooling: bool,
    /// `split.no` (0-based) and `split.count`, for one part of a model split into files.
    pub split: Option<(u16, u16)>,
    pub tensor_count: u64,
    /// Elements in all tensors of this file: the model's parameters (of this part, when split).
    pub parameters: u64,
    /// Bytes the file must have to hold all its tensors' data.
    pub needed_bytes: u64,
}

/// Why a file cannot be read as a GGUF model: each variant's message is one clear sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GgufError {
    #[error("the file is empty (0 bytes)")]
    Empty,
    /// Something else saved under a `.gguf` name: a web page, a Git LFS pointer, an old GGML.
    #[error("{0}")]
    NotGguf(String),
    /// A GGUF of a version or byte order llama.cpp does not load.
    #[error("{0}")]
    Unsupported(String),
    /// The file stops before its header or its tensors end (an unfinished download or copy).
    #[error("{0}")]
    Truncated(String),
    /// Values no GGUF writer produces: the bytes are damaged.
    #[error("{0}")]
    Damaged(String),
    #[error("cannot read it: {0}")]
    Unreadable(String),
}

type Result<T> = std::result::Result<T, GgufError>;

/// Reads the header of the GGUF file at `path`.
pub fn read(path: &Path) -> Result<GgufInfo> {
    let file = File::open(path).map_err(|e| GgufError::Unreadable(e.to_string()))?;
    let len = file
        .metadata()
        .map_err(|e| GgufError::Unreadable(e.to_string()))?
        .len();
    read_from(BufReader::with_capacity(64 * 1024, file), len)
}

/// Reads a GGUF header from `source`, which holds `len` bytes.
pub fn read_from<R: Read + Seek>(source: R, len: u64) -> Result<GgufInfo> {
    let mut r = Reader::new(source, len);
    read_preamble(&mut r)?;
    let version = read_version(&mut r)?;
    let tensor_count = r.count("tensors")?;
    let kv_count = r.count("metadata entries")?;
    let mut meta = Metadata::default();
    for _ in 0..kv_count {
        read_entry(&mut r, &mut meta)?;
    }
    let tensors = read_tensors(&mut r, tensor_count)?;
    // The data section starts at the next multiple of the alignment (when there is one).
    let data_start = match tensor_count {
        0 => r.pos,
        _ => align_up(r.pos, meta.alignment)?,
    };
    let needed_bytes = data_start
        .checked_add(tensors.data_end)
        .ok_or_else(|| damaged("the tensors' sizes add up to more than a file can hold"))?;
    if needed_bytes > len {
        return Err(GgufError::Truncated(format!(
            "the file is cut short: it is {len} bytes, but its tensors need {needed_bytes} \
             (an unfinished download or copy)"
        )));
    }
    let architecture = meta.architecture;
    let of_architecture = |pairs: &[(String, u64)]| {
        let arch = architecture.as_deref()?;
        pairs.iter().find(|(a, _)| a == arch).map(|(_, v)| *v)
    };
    Ok(GgufInfo {
        version,
        context_length: of_architecture(&meta.context_lengths),
        pooling: of_architecture(&meta.pooling_types).is_some_and(|p| p != 0),
        architecture,
        name: meta.name,
        file_type: meta.file_type,
        main_tensor_type: tensors.main_type,
        chat_template: meta.chat_template,
        split: meta.split_no.zip(meta.split_count),
        tensor_count,
        parameters: tensors.parameters,
        needed_bytes,
    })
}

fn damaged(what: impl Into<String>) -> GgufError {
    GgufError::Damaged(format!("the file is damaged: {}", what.into()))
}

/// The first four bytes: GGUF's signature, or whatever else the file turns out to be.
fn read_preamble<R: Read + Seek>(r: &mut Reader<R>) -> Result<()> {
    if r.len == 0 {
        return Err(GgufError::Empty);
    }
    let mut head = [0u8; 64];
    let n = r.peek(&mut head)?;
    let head = &head[..n];
    if head.starts_with(b"GGUF") {
        return r.skip(4, "the signature");
    }
    if b"GGUF".starts_with(head) {
        return Err(GgufError::Truncated(format!(
            "the file is cut short: it has only {} bytes",
            r.len
        )));
    }
    Err(GgufError::NotGguf(not_gguf(head)))
}

/// What a file that is not GGUF most likely is, from its first bytes.
fn not_gguf(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head)
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    let what = if text.starts_with("<!doctype html") || text.starts_with("<html") {
        "it is a web page (HTML), often what a failed download saves"
    } else if text.starts_with("version https://git-lfs") {
        "it is a Git LFS pointer: the model itself was never downloaded"
    } else if text.starts_with('<') {
        "it is an XML or HTML document"
    } else if text.starts_with('{') || text.starts_with('[') {
        "it is JSON text"
    } else if [b"lmgg", b"fmgg", b"tjgg", b"algg"]
        .iter()
        .any(|magic| head.starts_with(*magic))
    {
        "it is in the GGML format that came before GGUF, which llama.cpp no longer loads"
    } else {
        "it does not start with the GGUF signature"
    };
    format!("not a GGUF model: {what}")
}

fn read_version<R: Read + Seek>(r: &mut Reader<R>) -> Result<u32> {
    let version = r.u32("the version")?;
    match version {
        2 | 3 => Ok(version),
        0 => Err(damaged("its GGUF version is 0")),
        1 => Err(GgufError::Unsupported(
            "GGUF version 1 (from 2023), which llama.cpp no longer loads".into(),
        )),
        // A GGUF written on a big-endian machine: its version 3 reads as 0x03000000 here.
        v if v & 0xFFFF == 0 => Err(GgufError::Unsupported(
            "a big-endian GGUF (made for another kind of processor)".into(),
        )),
        v => Err(GgufError::Unsupported(format!(
            "GGUF version {v}, newer than the versions Quire reads (2 and 3)"
        ))),
    }
}

/// The metadata values Quire keeps; everything else is skipped.
#[derive(Default)]
struct Metadata {
    architecture: Option<String>,
    name: Option<String>,
    file_type: Option<u32>,
    chat_template: bool,
    alignment: u64,
    split_no: Option<u16>,
    split_count: Option<u16>,
    /// `<architecture>.context_length` for each architecture named (the architecture key may
    /// come after them).
    context_lengths: Vec<(String, u64)>,
    pooling_types: Vec<(String, u64)>,
}

/// GGUF value types (`enum gguf_type`).
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;

/// Bytes of a fixed-size GGUF value type; `None` for strings, arrays and unknown types.
fn scalar_size(value_type: u32) -> Option<u64> {
    match value_type {
        0 | 1 | 7 => Some(1), // u8, i8, bool
        2 | 3 => Some(2),     // u16, i16
        4..=6 => Some(4),     // u32, i32, f32
        10..=12 => Some(8),   // u64, i64, f64
        _ => None,
    }
}

fn read_entry<R: Read + Seek>(r: &mut Reader<R>, meta: &mut Metadata) -> Result<()> {
    let key_len = r.u64("a key's length")?;
    if key_len > MAX_KEY {
        return Err(damaged(format!(
            "a metadata key claims to be {key_len} bytes long"
        )));
    }
    let key = r.string(key_len, "a metadata key")?;
    let value_type = r.u32("a value's type")?;
    let wanted = WANTED_STRINGS.contains(&key.as_str()) || key == "tokenizer.chat_template";
    if value_type == TYPE_STRING && wanted {
        let len = r.u64("a string's length")?;
        check_string_len(len, &key)?;
        if key == "tokenizer.chat_template" {
            meta.chat_template = len > 0;
            return r.skip(len, "the chat template");
        }
        if len > MAX_KEPT_STRING {
            return r.skip(len, &key);
        }
        let value = r.string(len, &key)?;
        match key.as_str() {
            "general.architecture" => meta.architecture = Some(value),
            _ => meta.name = Some(value),
        }
        return Ok(());
    }
    if let Some(size) = scalar_size(value_type) {
        let value = r.scalar(size, &key)?;
        keep_number(meta, &key, value_type, value)?;
        return Ok(());
    }
    skip_value(r, value_type, &key)
}

const WANTED_STRINGS: [&str; 2] = ["general.architecture", "general.name"];

fn check_string_len(len: u64, key: &str) -> Result<()> {
    if len > MAX_STRING {
        return Err(damaged(format!(
            "the value of {key} claims to be {len} bytes long"
        )));
    }
    Ok(())
}

/// Keeps the numeric values Quire wants. Integers only (a float is never one of them).
fn keep_number(meta: &mut Metadata, key: &str, value_type: u32, value: u64) -> Result<()> {
    let is_integer = !matches!(value_type, 6 | 7 | 12);
    if !is_integer {
        return Ok(());
    }
    match key {
        "general.file_type" => meta.file_type = u32::try_from(value).ok(),
        "general.alignment" => {
            if value == 0 || !value.is_power_of_two() {
                return Err(damaged(format!(
                    "its alignment {value} is not a power of two"
                )));
            }
            meta.alignment = value;
        }
        "split.no" => meta.split_no = u16::try_from(value).ok(),
        "split.count" => meta.split_count = u16::try_from(value).ok(),
        _ => {
            let per_architecture = [
                (".context_length", &mut meta.context_lengths),
                (".pooling_type", &mut meta.pooling_types),
            ];
            for (suffix, list) in per_architecture {
                if let Some(arch) = key.strip_suffix(suffix) {
                    // A handful at most: one per architecture the file names.
                    if list.len() < 16 && !arch.contains('.') {
                        list.push((arch.to_string(), value));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Skips a string or an array (of scalars or strings; llama.cpp has no arrays of arrays).
fn skip_value<R: Read + Seek>(r: &mut Reader<R>, value_type: u32, key: &str) -> Result<()> {
    match value_type {
        TYPE_STRING => {
            let len = r.u64("a string's length")?;
            check_string_len(len, key)?;
            r.skip(len, key)
        }
        TYPE_ARRAY => {
            let element_type = r.u32("an array's element type")?;
            let count = r.u64("an array's length")?;
            if count > MAX_ARRAY {
                return Err(damaged(format!("the array {key} claims {count} elements")));
            }
            if let Some(size) = scalar_size(element_type) {
                return r.skip(count * size, key);
            }
            if element_type != TYPE_STRING {
                return Err(damaged(format!(
                    "the array {key} holds values of unknown type {element_type}"
                )));
            }
            // Each string is at least its 8-byte length: a quick check before the loop.
            r.ensure(count * 8, key)?;
            for _ in 0..count {
                let len = r.u64(key)?;
                check_string_len(len, key)?;
                r.skip(len, key)?;
            }
            Ok(())
        }
        other => Err(damaged(format!(
            "the value of {key} has unknown type {other}"
        ))),
    }
}

/// What the tensor descriptions add up to.
struct Tensors {
    parameters: u64,
    /// End of the last tensor's data, from the start of the data section.
    data_end: u64,
    main_type: Option<u32>,
}

fn read_tensors<R: Read + Seek>(r: &mut Reader<R>, count: u64) -> Result<Tensors> {
    let mut parameters: u64 = 0;
    let mut data_end: u64 = 0;
    // Bytes per tensor type, to name the main one; ggml has fewer than 64 types.
    let mut bytes_by_type = [0u64; 64];
    for _ in 0..count {
        let name_len = r.u64("a tensor's name length")?;
        if name_len > MAX_KEY {
            return Err(damaged(format!(
                "a tensor name claims to be {name_len} bytes long"
            )));
        }
        r.skip(name_len, "a tensor's name")?;
        let dims = r.u32("a tensor's dimensions")?;
        if dims > MAX_DIMS {
            return Err(damaged(format!(
                "a tensor has {dims} dimensions (ggml has at most 4)"
            )));
        }
        let mut elements: u64 = 1;
        let mut row: u64 = 1;
        for d in 0..dims {
            let n = r.u64("a tensor's shape")?;
            if d == 0 {
                row = n;
            }
            elements = elements
                .checked_mul(n)
                .filter(|e| *e <= i64::MAX as u64)
                .ok_or_else(|| damaged("a tensor's shape is impossibly large"))?;
        }
        let tensor_type = r.u32("a tensor's type")?;
        let offset = r.u64("a tensor's offset")?;
        let bytes = names::tensor_bytes(tensor_type, row, elements)?;
        if let Some(slot) = bytes_by_type.get_mut(tensor_type as usize) {
            *slot = slot.saturating_add(bytes.unwrap_or(0));
        }
        let end = offset
            .checked_add(bytes.unwrap_or(0))
            .ok_or_else(|| damaged("a tensor's data lies beyond what a file can hold"))?;
        data_end = data_end.max(end);
        parameters = parameters.saturating_add(elements);
    }
    let main_type = (0..bytes_by_type.len() as u32)
        .filter(|t| bytes_by_type[*t as usize] > 0)
        .max_by_key(|t| bytes_by_type[*t as usize]);
    Ok(Tensors {
        parameters,
        data_end,
        main_type,
    })
}

fn align_up(pos: u64, alignment: u64) -> Result<u64> {
    let alignment = if alignment == 0 {
        DEFAULT_ALIGNMENT
    } else {
        alignment
    };
    pos.checked_next_multiple_of(alignment)
        .ok_or_else(|| damaged("its header ends beyond what a file can hold"))
}
