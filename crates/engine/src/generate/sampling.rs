//! How the next token is chosen: the settings, and llama.cpp's sampler chain made from them.

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// 0 picks the most likely token every time.
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    /// Penalty for tokens seen in the last `repeat_last_n` tokens (1 = off).
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    /// DRY penalty for repeating longer sequences (0 = off): what keeps small base models from
    /// copying their prompt over and over.
    pub dry_multiplier: f32,
    pub seed: u32,
    /// Stop after this many generated tokens.
    pub max_tokens: usize,
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling {
            temperature: 0.2,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.15,
            repeat_last_n: 256,
            dry_multiplier: 0.8,
            seed: 42,
            max_tokens: 256,
        }
    }
}

/// Candidates kept before the penalties run. Penalties only lower scores, so a token outside
/// the 256 most likely can never come back into the final choice; without this cut, each
/// penalty would walk the whole vocabulary (262,144 tokens for Gemma 3) at every token.
const PENALTY_CANDIDATES: i32 = 256;

pub(super) fn make_sampler(model: &LlamaModel, s: &Sampling) -> LlamaSampler {
    let mut chain = vec![LlamaSampler::top_k(PENALTY_CANDIDATES.max(s.top_k))];
    if s.repeat_penalty != 1.0 && s.repeat_last_n > 0 {
        chain.push(LlamaSampler::penalties(
            model.n_vocab(),
            s.repeat_last_n,
            s.repeat_penalty,
            0.0,
            0.0,
        ));
    }
    if s.dry_multiplier > 0.0 {
        chain.push(LlamaSampler::dry(
            model,
            s.dry_multiplier,
            1.75,
            2,
            s.repeat_last_n.max(64),
            ["\n", ":", "\"", "*"],
        ));
    }
    if s.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.push(LlamaSampler::top_k(s.top_k.max(1)));
        chain.push(LlamaSampler::top_p(s.top_p, 1));
        chain.push(LlamaSampler::min_p(s.min_p, 1));
        chain.push(LlamaSampler::temp(s.temperature));
        chain.push(LlamaSampler::dist(s.seed));
    }
    LlamaSampler::chain_simple(chain)
}
