//! The reader on hand-made headers: good ones, and every way a header can lie about its sizes.

use std::io::Cursor;

use super::*;

/// Builds GGUF bytes field by field.
#[derive(Default)]
struct Gguf {
    bytes: Vec<u8>,
}

impl Gguf {
    fn header(version: u32, tensors: u64, kvs: u64) -> Gguf {
        let mut g = Gguf::default();
        g.bytes.extend_from_slice(b"GGUF");
        g.u32(version).u64(tensors).u64(kvs);
        g
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        self.bytes.extend_from_slice(s.as_bytes());
        self
    }
    fn kv_str(&mut self, key: &str, value: &str) -> &mut Self {
        self.str(key).u32(TYPE_STRING).str(value)
    }
    fn kv_u32(&mut self, key: &str, value: u32) -> &mut Self {
        self.str(key).u32(4).u32(value)
    }
    fn tensor(&mut self, name: &str, dims: &[u64], tensor_type: u32, offset: u64) -> &mut Self {
        self.str(name).u32(dims.len() as u32);
        for d in dims {
            self.u64(*d);
        }
        self.u32(tensor_type).u64(offset)
    }
    /// Pads to the default alignment and appends `n` bytes of tensor data.
    fn data(&mut self, n: usize) -> &mut Self {
        while !self.bytes.len().is_multiple_of(32) {
            self.bytes.push(0);
        }
        self.bytes.resize(self.bytes.len() + n, 0x11);
        self
    }
    fn read(&self) -> Result<GgufInfo> {
        read_from(Cursor::new(&self.bytes), self.bytes.len() as u64)
    }
}

/// A small but complete model: metadata like a converter writes it, two tensors, their data.
fn good() -> Gguf {
    let mut g = Gguf::header(3, 2, 6);
    g.kv_str("general.architecture", "llama")
        .kv_str("general.name", "Tiny")
        .kv_u32("llama.context_length", 2048)
        .kv_u32("general.file_type", 2);
    g.str("tokenizer.ggml.tokens")
        .u32(TYPE_ARRAY)
        .u32(TYPE_STRING)
        .u64(3);
    g.str("<s>").str("</s>").str("hello");
    g.kv_str("tokenizer.chat_template", "{{ messages }}");
    // 64 Q4_0 values (2 blocks of 18 bytes) and 8 F32 values; offsets 32-aligned.
    g.tensor("blk.0.weight", &[64], 2, 0)
        .tensor("norm", &[8], 0, 64)
        .data(96);
    g
}

#[test]
fn a_good_header_gives_the_models_facts() {
    let info = good().read().unwrap();
    assert_eq!(info.version, 3);
    assert_eq!(info.architecture.as_deref(), Some("llama"));
    assert_eq!(info.name.as_deref(), Some("Tiny"));
    assert_eq!(info.context_length, Some(2048));
    assert_eq!(info.file_type, Some(2));
    assert_eq!(file_type_name(2), Some("Q4_0"));
    assert!(info.chat_template);
    assert!(!info.pooling);
    assert_eq!((info.tensor_count, info.parameters), (2, 72));
    assert_eq!(info.main_tensor_type, Some(2));
    assert_eq!(info.split, None);
}

#[test]
fn the_context_length_is_the_architectures_even_when_named_first() {
    let mut g = Gguf::header(3, 0, 4);
    g.kv_u32("bert.context_length", 512)
        .kv_u32("bert.pooling_type", 1)
        .kv_u32("other.context_length", 9)
        .kv_str("general.architecture", "bert");
    let info = g.read().unwrap();
    assert_eq!(info.context_length, Some(512));
    assert!(info.pooling);
}

#[test]
fn not_gguf_files_say_what_they_are() {
    let cases: [(&[u8], &str); 6] = [
        (b"<!DOCTYPE html><html><body>404</body></html>", "web page"),
        (b"\n  <html lang=en>", "web page"),
        (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:ab",
            "Git LFS pointer",
        ),
        (b"{\"error\": \"not found\"}", "JSON"),
        (b"tjgg\x03\x00\x00\x00 old llama weights", "GGML format"),
        (
            b"PK\x03\x04 a zip archive",
            "does not start with the GGUF signature",
        ),
    ];
    for (bytes, expected) in cases {
        let err = read_from(Cursor::new(bytes), bytes.len() as u64).unwrap_err();
        assert!(matches!(err, GgufError::NotGguf(_)), "{err:?}");
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert_eq!(
        read_from(Cursor::new(b""), 0).unwrap_err(),
        GgufError::Empty
    );
    let short = read_from(Cursor::new(b"GG"), 2).unwrap_err();
    assert!(matches!(short, GgufError::Truncated(_)), "{short:?}");
}

#[test]
fn versions_llama_cpp_does_not_load_are_named() {
    let message = |version: u32| Gguf::header(version, 0, 0).read().unwrap_err().to_string();
    assert!(message(1).contains("GGUF version 1"));
    assert!(message(0x0300_0000).contains("big-endian"));
    assert!(message(7).contains("GGUF version 7"));
    assert!(message(0).contains("damaged"));
    assert!(Gguf::header(2, 0, 0).read().is_ok());
}

#[test]
fn huge_lengths_are_refused_before_anything_is_allocated() {
    let damaged = |g: &Gguf| match g.read() {
        Err(GgufError::Damaged(m)) => m,
        other => panic!("expected damaged, got {other:?}"),
    };
    assert!(damaged(&Gguf::header(3, u64::MAX, 0)).contains("tensors"));
    assert!(damaged(&Gguf::header(3, 0, 1 << 40)).contains("metadata entries"));
    let mut key = Gguf::header(3, 0, 1);
    key.u64(u64::MAX);
    assert!(damaged(&key).contains("key"));
    let mut name = Gguf::header(3, 0, 1);
    name.str("general.name").u32(TYPE_STRING).u64(1 << 40);
    assert!(damaged(&name).contains("general.name"));
    let mut array = Gguf::header(3, 0, 1);
    array
        .str("tokenizer.ggml.tokens")
        .u32(TYPE_ARRAY)
        .u32(TYPE_STRING)
        .u64(u64::MAX);
    assert!(damaged(&array).contains("elements"));
    let mut nested = Gguf::header(3, 0, 1);
    nested.str("x").u32(TYPE_ARRAY).u32(TYPE_ARRAY).u64(1);
    assert!(damaged(&nested).contains("unknown type"));
    let mut dims = Gguf::header(3, 1, 0);
    dims.tensor("t", &[1, 1, 1, 1, 1], 0, 0);
    assert!(damaged(&dims).contains("5 dimensions"));
    let mut shape = Gguf::header(3, 1, 0);
    shape.tensor("t", &[u64::MAX, u64::MAX], 0, 0);
    assert!(damaged(&shape).contains("shape"));
    let mut blocks = Gguf::header(3, 1, 0);
    blocks.tensor("t", &[33], 2, 0);
    assert!(damaged(&blocks).contains("blocks of 32"));
    let mut alignment = Gguf::header(3, 0, 1);
    alignment.kv_u32("general.alignment", 24);
    assert!(damaged(&alignment).contains("alignment"));
}

#[test]
fn lengths_past_the_end_of_the_file_are_a_cut_file() {
    // A plausible length, but more than the file holds: the rest of it is missing.
    let mut name = Gguf::header(3, 0, 1);
    name.str("general.name")
        .u32(TYPE_STRING)
        .u64(5000)
        .str("Ti");
    assert!(matches!(name.read(), Err(GgufError::Truncated(_))));
    let mut tokens = Gguf::header(3, 0, 1);
    tokens
        .str("tokenizer.ggml.tokens")
        .u32(TYPE_ARRAY)
        .u32(TYPE_STRING)
        .u64(1 << 29);
    assert!(matches!(tokens.read(), Err(GgufError::Truncated(_))));
    // The tensors' data is missing its last bytes.
    let mut data = good();
    data.bytes.truncate(data.bytes.len() - 1);
    let err = data.read().unwrap_err();
    assert!(err.to_string().contains("cut short"), "{err}");
}

#[test]
fn every_prefix_of_a_good_file_is_an_error_never_a_panic() {
    let full = good().bytes;
    for n in 0..full.len() {
        let prefix = &full[..n];
        assert!(
            read_from(Cursor::new(prefix), n as u64).is_err(),
            "{n} bytes"
        );
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let full = good().bytes;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..5000 {
        let mut bytes = full.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        // Whatever it says, it says it without panicking or allocating wildly.
        let _ = read_from(Cursor::new(&bytes), bytes.len() as u64);
    }
}
