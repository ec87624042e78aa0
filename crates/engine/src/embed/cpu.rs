//! The encoder on the CPU in f32, written for speed (issue 17; where the time went before is in
//! docs/bench/embedding-profile.md).
//!
//! candle runs a model one operation at a time: every bias add, residual, scale, mask, softmax
//! and LayerNorm is its own pass over memory into a new tensor, and its own parallel section.
//! Here a whole forward pass works in four buffers, kept from one pass to the next:
//!
//! - sequences are packed one after another without padding (`packed.rs`), so no work is spent
//!   on padding and no mask exists;
//! - the projections are single matrix multiplies (the `gemm` crate, candle's own kernels, with
//!   AVX-512/AVX2 chosen at run time) that add into the residual buffer directly;
//! - attention runs per (sequence, head) on the thread pool: two small multiplies with a
//!   vectorised softmax between them, its scores in a per-thread scratch that stays in cache;
//! - bias + GELU and bias + LayerNorm are one pass over each row, vectorised for AVX2 or
//!   AVX-512 when the CPU has them (`simd.rs`).
//!
//! With int8 (`int8.rs`) the four projections of each layer run on int8 weights instead.
//!
//! The weights are copied out of candle's tensors at load (the same values, laid out for these
//! multiplies) and candle's copy is dropped. Vectors agree with candle's ops to ~1e-6; the
//! embedding tests hold both to sentence-transformers' vectors.

use std::sync::{Mutex, PoisonError};

use candle_core::{Result, Tensor};
use candle_nn::{LayerNorm, Linear};
use candle_transformers::models::bert::{Config, HiddenAct};
use gemm::{gemm, Parallelism};
use rayon::prelude::*;
use tokenizers::Tokenizer;

use super::int8::{self, QuantizedRows, QuantizedWeights};
use super::packed::Packed;
use super::simd;
use super::{CandleEncoder, Pooling};
use crate::bert::Bert;
use crate::error::Error;

/// Tokens per forward pass: enough rows for the multiplies to run at full speed, few enough
/// that the feed-forward buffer (tokens × 1536 floats for MiniLM) stays modest.
const BATCH_TOKENS: usize = 4096;

pub(super) struct CpuEncoder {
    tokenizer: Tokenizer,
    model: CpuModel,
    pooling: Pooling,
}

/// A linear layer: `weight` is (inputs, outputs) row-major, the transpose of candle's; with the
/// int8 path, `quantized` holds it in int8 and `weight` is empty.
struct Dense {
    weight: Vec<f32>,
    quantized: Option<QuantizedWeights>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

pub(super) struct Norm {
    pub(super) gamma: Vec<f32>,
    pub(super) beta: Vec<f32>,
}

struct CpuLayer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// A forward pass's buffers, kept for the next one.
#[derive(Default)]
struct Scratch {
    /// Hidden states (tokens × hidden).
    x: Vec<f32>,
    /// Query, key and value (tokens × 3·hidden).
    qkv: Vec<f32>,
    /// Attention output (tokens × hidden).
    context: Vec<f32>,
    /// Feed-forward activations (tokens × intermediate).
    inner: Vec<f32>,
    /// The int8 path's quantised input of a projection.
    quantized: QuantizedRows,
}

struct CpuModel {
    scratch: Mutex<Scratch>,
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
    fn from(linear: &Linear, int8: bool) -> Result<Dense> {
        let (outputs, inputs) = linear.weight().dims2()?;
        let mut weight = flat(&linear.weight().t()?.contiguous()?)?;
        let quantized = int8.then(|| QuantizedWeights::new(&weight, inputs, outputs));
        if quantized.is_some() {
            weight = Vec::new();
        }
        let bias = match linear.bias() {
            Some(b) => flat(b)?,
            None => vec![0.0; outputs],
        };
        Ok(Dense {
            weight,
            quantized,
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
    fn from(bert: &Bert, config: &Config, int8: bool) -> Result<CpuModel> {
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
                    qkv: Dense::from(&l.qkv, int8)?,
                    attention_out: Dense::from(&l.attention_out, int8)?,
                    attention_norm: Norm::from(&l.attention_norm, hidden)?,
                    intermediate: Dense::from(&l.intermediate, int8)?,
                    output: Dense::from(&l.output, int8)?,
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
            scratch: Mutex::new(Scratch::default()),
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

    /// Unit-length pooled vectors (mean, or the first token) of the packed sequences, in order.
    fn forward(&self, packed: &Packed, pooling: Pooling) -> Result<Vec<Vec<f32>>> {
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

        // The buffers of the last pass, reused: resizing zeroes only what grows.
        let mut scratch = self.scratch.lock().unwrap_or_else(PoisonError::into_inner);
        let Scratch {
            x,
            qkv,
            context,
            inner,
            quantized: q,
        } = &mut *scratch;
        x.resize(tokens * h, 0.0);
        qkv.resize(tokens * 3 * h, 0.0);
        context.resize(tokens * h, 0.0);
        inner.resize(tokens * self.intermediate, 0.0);
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

        for layer in &self.layers {
            // Query, key and value in one multiply, on top of their biases.
            qkv.par_chunks_mut(3 * h * rows_per_task).for_each(|rows| {
                for row in rows.chunks_mut(3 * h) {
                    row.copy_from_slice(&layer.qkv.bias);
                }
            });
            matmul(qkv, true, x, &layer.qkv, tokens, par, q);
            self.attention(qkv, context, packed);
            // x += context · W_o; then + bias and LayerNorm, row by row.
            matmul(x, true, context, &layer.attention_out, tokens, par, q);
            x.par_chunks_mut(h * rows_per_task).for_each(|rows| {
                for row in rows.chunks_mut(h) {
                    let bias = Some(layer.attention_out.bias.as_slice());
                    simd::bias_layer_norm(row, bias, &layer.attention_norm, self.eps);
                }
            });
            matmul(inner, false, x, &layer.intermediate, tokens, par, q);
            let width = self.intermediate;
            inner
                .par_chunks_mut(width * rows_per_task)
                .for_each(|rows| {
                    for row in rows.chunks_mut(width) {
                        simd::bias_activation(row, &layer.intermediate.bias, self.act);
                    }
                });
            matmul(x, true, inner, &layer.output, tokens, par, q);
            x.par_chunks_mut(h * rows_per_task).for_each(|rows| {
                for row in rows.chunks_mut(h) {
                    let bias = Some(layer.output.bias.as_slice());
                    simd::bias_layer_norm(row, bias, &layer.output_norm, self.eps);
                }
            });
        }

        // Mean over each sequence's tokens (or its first token), then unit length.
        Ok(packed
            .offsets
            .windows(2)
            .map(|w| {
                let (start, end) = (w[0] as usize, w[1] as usize);
                let mut pooled = vec![0f32; h];
                let end = match pooling {
                    Pooling::Mean => end,
                    Pooling::Cls => start + 1,
                };
                for row in x[start * h..end * h].chunks(h) {
                    for (m, v) in pooled.iter_mut().zip(row) {
                        *m += v;
                    }
                }
                let n = (end - start) as f32;
                pooled.iter_mut().for_each(|m| *m /= n);
                let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                pooled.iter_mut().for_each(|m| *m /= norm);
                pooled
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
/// `accumulate`; in int8 when the layer is quantised (`q` holds the quantised input).
fn matmul(
    out: &mut [f32],
    accumulate: bool,
    input: &[f32],
    d: &Dense,
    rows: usize,
    par: Parallelism,
    q: &mut QuantizedRows,
) {
    if let Some(weights) = &d.quantized {
        q.fill(input, rows, d.inputs);
        int8::matmul(out, accumulate, q, weights);
        return;
    }
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
    /// The CPU encoder for the model `candle` holds, its projections in int8 if `int8`;
    /// `candle`'s weights are dropped.
    pub(super) fn new(candle: CandleEncoder, config: &Config, int8: bool) -> Result<CpuEncoder> {
        Ok(CpuEncoder {
            model: CpuModel::from(&candle.model, config, int8)?,
            tokenizer: candle.tokenizer,
            pooling: candle.pooling,
        })
    }

    /// Whether the projections run in int8.
    pub(super) fn int8(&self) -> bool {
        self.model.layers.iter().any(|l| l.qkv.quantized.is_some())
    }

    pub(super) fn embed(&self, texts: &[String]) -> crate::Result<Vec<Vec<f32>>> {
        let encodings = super::tokenize(&self.tokenizer, texts)?;
        let mut out = Vec::with_capacity(texts.len());
        let mut group: Vec<&[u32]> = Vec::new();
        let mut group_tokens = 0;
        let run = |group: &mut Vec<&[u32]>, out: &mut Vec<Vec<f32>>| -> crate::Result<()> {
            let packed = Packed::new(group).map_err(|e| Error::Embedding(e.to_string()))?;
            out.extend(
                self.model
                    .forward(&packed, self.pooling)
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
