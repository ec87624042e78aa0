//! The chunker, over any text: pages (split at form feeds) cleaned as extraction cleans them,
//! then cut into chunks with the real all-MiniLM-L6-v2 tokenizer (QUIRE_FUZZ_MODEL, or the
//! default model folder). Checks what the rest of Quire relies on: each chunk lies within its
//! pages at the offsets it claims, fits the model, chunks come in page order, and no text of a
//! page is left out of every chunk.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use quire_engine::chunk::{chunk_pages, ChunkOptions, TokenCounter};
use quire_engine::embed::{ModelFiles, ModelTokens};
use quire_engine::extract::Page;
use quire_engine::text::clean_page;

fn tokens() -> &'static ModelTokens {
    static TOKENS: OnceLock<ModelTokens> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let dir = std::env::var_os("QUIRE_FUZZ_MODEL")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                quire_engine::default_models_dir().join(quire_engine::DEFAULT_EMBEDDING_MODEL)
            });
        let files = ModelFiles::locate(&dir).expect("the embedding model (run models/fetch)");
        ModelTokens::new(&files).expect("its tokenizer loads")
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let tokens = tokens();
    // The first byte picks the chunk size (8..=263 tokens), as `--chunk-tokens` would.
    let options = ChunkOptions::for_model(8 + data[0] as usize, 256);
    let text = String::from_utf8_lossy(&data[1..]);
    let pages: Vec<Page> = text
        .split('\u{c}')
        .enumerate()
        .map(|(i, raw)| Page {
            number: i as u32 + 1,
            text: clean_page(raw),
        })
        .collect();
    let chunks = chunk_pages(&pages, &options, tokens);
    let chars: Vec<Vec<char>> = pages.iter().map(|p| p.text.chars().collect()).collect();
    let mut covered: Vec<Vec<bool>> = chars.iter().map(|c| vec![false; c.len()]).collect();
    let mut previous = (0, 0);
    for c in &chunks {
        assert!(c.page_start >= 1 && c.page_start <= c.page_end);
        assert!(c.page_end as usize <= pages.len());
        assert!(!c.text.trim().is_empty(), "no empty chunk");
        assert!(
            (c.page_start, c.char_start) >= previous,
            "chunks in page order"
        );
        previous = (c.page_start, c.char_start);
        let (first, last) = (c.page_start as usize - 1, c.page_end as usize - 1);
        assert!(c.char_start <= chars[first].len() && c.char_end <= chars[last].len());
        if first == last {
            assert!(c.char_start < c.char_end);
            let said: String = chars[first][c.char_start..c.char_end].iter().collect();
            assert_eq!(said, c.text, "a chunk is its page's text at its offsets");
        }
        let counted = tokens.count(&[c.text.as_str()])[0];
        assert!(
            c.tokens <= options.max_tokens && counted <= options.max_tokens,
            "a chunk fits the model: {} / {counted} tokens, at most {}",
            c.tokens,
            options.max_tokens
        );
        for page in first..=last {
            let start = if page == first { c.char_start } else { 0 };
            let end = if page == last {
                c.char_end
            } else {
                chars[page].len()
            };
            for seen in covered[page].iter_mut().take(end).skip(start) {
                *seen = true;
            }
        }
    }
    for (page, seen) in covered.iter().enumerate() {
        for (i, &s) in seen.iter().enumerate() {
            assert!(
                s || chars[page][i].is_whitespace(),
                "page {} char {i} ({:?}) is in no chunk",
                page + 1,
                chars[page][i]
            );
        }
    }
});
