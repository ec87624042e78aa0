//! The encoder on the CPU in f32, written for speed (issue 17; where the time went before is in
//! docs/bench/embedding-profile.md).
//!
//! candle runs a model one operation at a time: every bias add, residual, scale, mask, softmax
//! and LayerNorm is its own pass over memory into a new tensor, and its own parallel section.
//! Here a whole forward pass works in four buffers made once per batch:
//!
//! - sequences are packed one after another without padding (`packed.rs`), so no work is spent
//!   on padding and no mask exists;
//! - the projections are single matrix multiplies (the `gemm` crate, candle's own kernels, with
//!   AVX-512/AVX2 chosen at run time) that add into the residual buffer directly;
//! - attention runs per (sequence, head) on the thread pool: two small multiplies with a
//!   vectorised softmax between them, its scores in a per-thread scratch that stays in cache;
//! - bias + GELU and bias + LayerNorm are one pass over each row, vectorised for AVX2 when the
//!   CPU has it.
//!
//! The weights are copied out of candle's tensors at load (the same values, laid out for these
//! multiplies) and candle's copy is dropped. Vectors agree with candle's ops to ~1e-6; the
//! embedding tests hold both to sentence-transformers' vectors.

use candle_core::{Result, Tensor};
use candle_nn::{LayerNorm, Linear};
use candle_transformers::models::bert::{Config, HiddenAct};
use gemm::{gemm, Parallelism};
use rayon::prelude::*;
use tokenizers::Tokenizer;

use super::packed::Packed;
use super::CandleEncoder;
use crate::bert::{erf, Bert};
use crate::error::Error;

/// Tokens per forward pass: enough rows for the multiplies to run at full speed, few enough
/// that the feed-forward buffer (tokens × 1536 floats for MiniLM) stays modest.
const BATCH_TOKENS: usize = 4096;

pub(super) struct CpuEncoder {
    tokenizer: Tokenizer,
    model: CpuModel,
}

/// A linear layer: `weight` is (inputs, outputs) row-major, the transpose of candle's.
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct CpuLayer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

struct CpuModel {
    word: Vec<f32>,
    position: Vec<f32>,
    /// Token type 0's embedding: sentence embeddings use one segment.
    segment: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<CpuLayer>,
    hidden: usize,
    heads: usize,
    intermediate: usize,
    eps: f32,
    act: HiddenAct,
    vocab: usize,
    max_positions: usize,
}

fn flat(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()
}

impl Dense {
    fn from(linear: &Linear) -> Result<Dense> {
        let (outputs, inputs) = linear.weight().dims2()?;
        let weight = flat(&linear.weight().t()?.contiguous()?)?;
        let bias = match linear.bias() {
            Some(b) => flat(b)?,
            None => vec![0.0; outputs],
        };
        Ok(Dense {
            weight,
            bias,
            inputs,
            outputs,
        })
    }
}

impl Norm {
    fn from(norm: &LayerNorm, width: usize) -> Result<Norm> {
        let gamma = flat(norm.weight())?;
        let beta = match norm.bias() {
            Some(b) => flat(b)?,
            None => vec![0.0; width],
        };
        if gamma.len() != width || beta.len() != width {
            candle_core::bail!("a LayerNorm of width {} in a model of {width}", gamma.len());
        }
        Ok(Norm { gamma, beta })
    }
}

impl CpuModel {
    fn from(bert: &Bert, config: &Config) -> Result<CpuModel> {
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            candle_core::bail!("{hidden} hidden units do not split into {heads} heads");
        }
        let e = &bert.embeddings;
        let word = flat(e.word.embeddings())?;
        let position = flat(e.position.embeddings())?;
        let segment = flat(&e.token_type.embeddings().get(0)?)?;
        let layers = bert
            .layers
            .iter()
            .map(|l| {
                Ok(CpuLayer {
                    qkv: Dense::from(&l.qkv)?,
                    attention_out: Dense::from(&l.attention_out)?,
                    attention_norm: Norm::from(&l.attention_norm, hidden)?,
                    intermediate: Dense::from(&l.intermediate)?,
                    output: Dense::from(&l.output)?,
                    output_norm: Norm::from(&l.output_norm, hidden)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for l in &layers {
            let shapes = [
                (l.qkv.inputs, l.qkv.outputs, hidden, 3 * hidden),
                (
                    l.attention_out.inputs,
                    l.attention_out.outputs,
                    hidden,
                    hidden,
                ),
                (
                    l.intermediate.inputs,
                    l.intermediate.outputs,
                    hidden,
                    config.intermediate_size,
                ),
                (
                    l.output.inputs,
                    l.output.outputs,
                    config.intermediate_size,
                    hidden,
                ),
            ];
            if shapes.iter().any(|&(i, o, wi, wo)| i != wi || o != wo) {
                candle_core::bail!("a layer's weights do not have the shapes of its config");
            }
        }
        Ok(CpuModel {
            vocab: word.len() / hidden,
            max_positions: position.len() / hidden,
            word,
            position,
            segment,
            embedding_norm: Norm::from(&e.norm, hidden)?,
            layers,
            hidden,
            heads,
            intermediate: config.intermediate_size,
            eps: config.layer_norm_eps as f32,
            act: config.hidden_act,
        })
    }

    /// Unit-length mean-pooled vectors of the packed sequences, in order.
    fn forward(&self, packed: &Packed) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let tokens = packed.ids.len();
        if let Some(&id) = packed.ids.iter().find(|&&id| id as usize >= self.vocab) {
            candle_core::bail!("token id {id} is outside the vocabulary of {}", self.vocab);
        }
        if packed.max_len > self.max_positions {
            candle_core::bail!(
                "a sequence of {} tokens; the model has {} positions",
                packed.max_len,
                self.max_positions
            );
        }
        let threads = rayon::current_num_threads();
        let par = if threads > 1 {
            Parallelism::Rayon(threads)
        } else {
            Parallelism::None
        };
        // Rows per parallel task in the row-wise passes: a few tasks per thread.
        let rows_per_task = tokens.div_ceil(threads * 4).max(1);

        let mut x = vec![0f32; tokens * h];
        x.par_chunks_mut(h * rows_per_task)
            .enumerate()
            .for_each(|(task, rows)| {
                for (r, row) in rows.chunks_mut(h).enumerate() {
                    let t = task * rows_per_task + r;
                    let word = &self.word[packed.ids[t] as usize * h..][..h];
                    let pos = &self.position[packed.positions[t] as usize * h..][..h];
                    for (((o, w), p), s) in row.iter_mut().zip(word).zip(pos).zip(&self.segment) {
                        *o = w + p + s;
                    }
                    simd::bias_layer_norm(row, None, &self.embedding_norm, self.eps);
                }
            });

        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut inner = vec![0f32; tokens * self.intermediate];
        for layer in &self.layers {
            // Query, key and value in one multiply, on top of their biases.
            qkv.par_chunks_mut(3 * h * rows_per_task).for_each(|rows| {
                for row in rows.chunks_mut(3 * h) {
                    row.copy_from_slice(&layer.qkv.bias);
                }
            });
            matmul(&mut qkv, true, &x, &layer.qkv, tokens, par);
            self.attention(&qkv, &mut context, packed);
            // x += context · W_o; then + bias and LayerNorm, row by row.
            matmul(&mut x, true, &context, &layer.attention_out, tokens, par);
            x.par_chunks_mut(h * rows_per_task).for_each(|rows| {
                for row in rows.chunks_mut(h) {
                    let bias = Some(layer.attention_out.bias.as_slice());
                    simd::bias_layer_norm(row, bias, &layer.attention_norm, self.eps);
                }
            });
            matmul(&mut inner, false, &x, &layer.intermediate, tokens, par);
            let width = self.intermediate;
            inner
                .par_chunks_mut(width * rows_per_task)
                .for_each(|rows| {
                    for row in rows.chunks_mut(width) {
                        simd::bias_activation(row, &layer.intermediate.bias, self.act);
                    }
                });
            matmul(&mut x, true, &inner, &layer.output, tokens, par);
            x.par_chunks_mut(h * rows_per_task).for_each(|rows| {
                for row in rows.chunks_mut(h) {
                    let bias = Some(layer.output.bias.as_slice());
                    simd::bias_layer_norm(row, bias, &layer.output_norm, self.eps);
                }
            });
        }

        // Mean over each sequence's tokens, then unit length.
        Ok(packed
            .offsets
            .windows(2)
            .map(|w| {
                let (start, end) = (w[0] as usize, w[1] as usize);
                let mut mean = vec![0f32; h];
                for row in x[start * h..end * h].chunks(h) {
                    for (m, v) in mean.iter_mut().zip(row) {
                        *m += v;
                    }
                }
                let n = (end - start) as f32;
                mean.iter_mut().for_each(|m| *m /= n);
                let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|m| *m /= norm);
                mean
            })
            .collect())
    }

    /// Self-attention of every sequence and head, into `context` (tokens × hidden).
    fn attention(&self, qkv: &[f32], context: &mut [f32], packed: &Packed) {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let sequences = packed.offsets.len() - 1;
        let out = SharedMut(context.as_mut_ptr());
        (0..sequences * self.heads).into_par_iter().for_each_init(
            Vec::<f32>::new,
            |scores, task| {
                let (s, head) = (task / self.heads, task % self.heads);
                let start = packed.offsets[s] as usize;
                let len = packed.offsets[s + 1] as usize - start;
                scores.resize(len * len, 0.0);
                let q = qkv[start * 3 * h + head * d..].as_ptr();
                // SAFETY: every pointer stays inside its buffer: rows start..start+len of qkv
                // (3h wide, head's d columns of each third) and of context (h wide, head's d
                // columns); each task writes only its own sequence's rows and head's columns of
                // context, so no two tasks write the same element; `scores` is this thread's.
                unsafe {
                    let k = q.add(h);
                    let v = q.add(2 * h);
                    let row = (3 * h) as isize;
                    // scores (len × len) = scale · Q · Kᵀ
                    gemm(
                        len,
                        len,
                        d,
                        scores.as_mut_ptr(),
                        1,
                        len as isize,
                        false,
                        q,
                        1,
                        row,
                        k,
                        row,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                    for r in scores.chunks_mut(len) {
                        simd::softmax(r);
                    }
                    // context (len × d) = softmax · V
                    let out = out.ptr().add(start * h + head * d);
                    gemm(
                        len,
                        d,
                        len,
                        out,
                        1,
                        h as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        len as isize,
                        v,
                        1,
                        row,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            },
        );
    }
}

/// A pointer the attention tasks share; each writes only its own part (see `attention`).
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
// SAFETY: the tasks that share it write disjoint elements, and the buffer outlives them.
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// Through a method, so that closures capture the whole (Send) wrapper.
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

/// `out` (rows × outputs) = input (rows × inputs) · weight, added to what `out` holds when
/// `accumulate`.
fn matmul(
    out: &mut [f32],
    accumulate: bool,
    input: &[f32],
    d: &Dense,
    rows: usize,
    par: Parallelism,
) {
    assert!(out.len() >= rows * d.outputs && input.len() >= rows * d.inputs);
    // SAFETY: the lengths were checked above; all three are row-major with the strides given.
    unsafe {
        gemm(
            rows,
            d.outputs,
            d.inputs,
            out.as_mut_ptr(),
            1,
            d.outputs as isize,
            accumulate,
            input.as_ptr(),
            1,
            d.inputs as isize,
            d.weight.as_ptr(),
            1,
            d.outputs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

impl CpuEncoder {
    /// The CPU encoder for the model `candle` holds; `candle`'s weights are dropped.
    pub(super) fn new(candle: CandleEncoder, config: &Config) -> Result<CpuEncoder> {
        Ok(CpuEncoder {
            model: CpuModel::from(&candle.model, config)?,
            tokenizer: candle.tokenizer,
        })
    }

    pub(super) fn embed(&self, texts: &[String]) -> crate::Result<Vec<Vec<f32>>> {
        let inputs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| Error::Embedding(format!("tokenizer: {e}")))?;
        let mut out = Vec::with_capacity(texts.len());
        let mut group: Vec<&[u32]> = Vec::new();
        let mut group_tokens = 0;
        let run = |group: &mut Vec<&[u32]>, out: &mut Vec<Vec<f32>>| -> crate::Result<()> {
            let packed = Packed::new(group).map_err(|e| Error::Embedding(e.to_string()))?;
            out.extend(
                self.model
                    .forward(&packed)
                    .map_err(|e| Error::Embedding(e.to_string()))?,
            );
            group.clear();
            Ok(())
        };
        for e in &encodings {
            let ids = e.get_ids();
            if !group.is_empty() && group_tokens + ids.len() > BATCH_TOKENS {
                run(&mut group, &mut out)?;
                group_tokens = 0;
            }
            group.push(ids);
            group_tokens += ids.len();
        }
        if !group.is_empty() {
            run(&mut group, &mut out)?;
        }
        Ok(out)
    }
}

/// The row-wise passes, compiled twice: for the baseline CPU and, picked at run time, for AVX2
/// with FMA (the loops are written so the compiler vectorises them: eight accumulators for
/// sums, branch-free exp and erf).
mod simd {
    use super::{erf, HiddenAct, Norm};

    macro_rules! dispatch {
        ($(fn $name:ident($($arg:ident: $ty:ty),*) $body:block)*) => {$(
            pub(super) fn $name($($arg: $ty),*) {
                #[inline(always)]
                fn generic($($arg: $ty),*) $body
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx2,fma")]
                    fn avx2($($arg: $ty),*) {
                        generic($($arg),*)
                    }
                    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                        // SAFETY: the CPU has the features `avx2` was compiled for.
                        return unsafe { avx2($($arg),*) };
                    }
                }
                generic($($arg),*)
            }
        )*};
    }

    /// Sum of `xs`, in eight lanes.
    #[inline(always)]
    fn sum(xs: &[f32]) -> f32 {
        let mut lanes = [0f32; 8];
        let mut chunks = xs.chunks_exact(8);
        for c in &mut chunks {
            for i in 0..8 {
                lanes[i] += c[i];
            }
        }
        lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
    }

    /// e^x for x ≤ 0 (softmax after subtracting the maximum), ~1 ulp: Cody–Waite range
    /// reduction and Cephes' polynomial, with rounding by the 1.5·2²³ trick (`round` is not
    /// vectorised on the baseline CPU).
    #[inline(always)]
    pub(super) fn exp(x: f32) -> f32 {
        const MAGIC: f32 = 12_582_912.0;
        let x = x.clamp(-87.0, 88.0);
        let shifted = x * std::f32::consts::LOG2_E + MAGIC;
        let n = shifted - MAGIC;
        let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
        let p = 1.987_569_1e-4_f32;
        let p = p * r + 1.398_199_9e-3;
        let p = p * r + 8.333_452e-3;
        let p = p * r + 4.166_579_6e-2;
        let p = p * r + 1.666_666_5e-1;
        let p = p * r + 0.5;
        let e = p * r * r + r + 1.0;
        // 2^n from the low bits of `shifted`, which hold n as an integer.
        let bits = (shifted.to_bits() as i32).wrapping_add(127 - 0x4B40_0000) << 23;
        e * f32::from_bits(bits as u32)
    }

    dispatch! {
        fn bias_layer_norm(row: &mut [f32], bias: Option<&[f32]>, norm: &Norm, eps: f32) {
            if let Some(bias) = bias {
                for (x, b) in row.iter_mut().zip(bias) {
                    *x += b;
                }
            }
            let n = row.len() as f32;
            let mean = sum(row) / n;
            let mut lanes = [0f32; 8];
            let mut chunks = row.chunks_exact(8);
            for c in &mut chunks {
                for i in 0..8 {
                    let d = c[i] - mean;
                    lanes[i] += d * d;
                }
            }
            let rest: f32 = chunks.remainder().iter().map(|x| (x - mean) * (x - mean)).sum();
            let var = (lanes.iter().sum::<f32>() + rest) / n;
            let inv = 1.0 / (var + eps).sqrt();
            for ((x, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
                *x = (*x - mean) * inv * g + b;
            }
        }

        fn bias_activation(row: &mut [f32], bias: &[f32], act: HiddenAct) {
            match act {
                HiddenAct::Gelu => {
                    for (x, b) in row.iter_mut().zip(bias) {
                        let v = *x + b;
                        *x = 0.5 * v * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
                    }
                }
                HiddenAct::GeluApproximate => {
                    // 0.5·v·(1 + tanh(u)) = v · sigmoid(2u) = v / (1 + e^(-2u))
                    for (x, b) in row.iter_mut().zip(bias) {
                        let v = *x + b;
                        let u = 0.797_884_6 * (v + 0.044_715 * v * v * v);
                        *x = v / (1.0 + exp(-2.0 * u));
                    }
                }
                HiddenAct::Relu => {
                    for (x, b) in row.iter_mut().zip(bias) {
                        *x = (*x + b).max(0.0);
                    }
                }
            }
        }

        fn softmax(row: &mut [f32]) {
            let mut lanes = [f32::MIN; 8];
            let mut chunks = row.chunks_exact(8);
            for c in &mut chunks {
                for i in 0..8 {
                    lanes[i] = lanes[i].max(c[i]);
                }
            }
            let max = chunks
                .remainder()
                .iter()
                .chain(&lanes)
                .fold(f32::MIN, |a, &b| a.max(b));
            for x in row.iter_mut() {
                *x = exp(*x - max);
            }
            let inv = 1.0 / sum(row);
            for x in row.iter_mut() {
                *x *= inv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::simd;

    #[test]
    fn fast_exp_is_within_a_few_ulp_of_std() {
        let mut worst = 0f32;
        for i in 0..=200_000 {
            let x = -87.0 + i as f32 * (87.0 + 20.0) / 200_000.0;
            let (ours, std) = (simd::exp(x), x.exp());
            worst = worst.max(((ours - std) / std).abs());
        }
        assert!(worst < 4e-7, "largest relative error {worst}");
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 9.0).collect();
        let original = row.clone();
        simd::softmax(&mut row);
        let total: f32 = row.iter().sum();
        assert!((total - 1.0).abs() < 1e-5, "sum {total}");
        let max = original.iter().cloned().fold(f32::MIN, f32::max);
        let expected: Vec<f32> = original.iter().map(|x| (x - max).exp()).collect();
        let denom: f32 = expected.iter().sum();
        for (a, e) in row.iter().zip(&expected) {
            assert!((a - e / denom).abs() < 1e-6);
        }
    }
}
