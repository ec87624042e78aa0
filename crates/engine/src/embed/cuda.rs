//! The encoder on Quire's fused CUDA kernels (`kernels/bert.cu`, as candle ops in
//! `cuda_kernels.rs`): sequences packed one after another without padding, the kernels for
//! attention, bias + GELU and bias + residual + LayerNorm, and cuBLAS (through candle) for the
//! matrix products. All of the embedder's CUDA-only code is here.
//!
//! The fused path is used only when it agrees with candle's own ops on this GPU at start-up: a
//! kernel that misbehaves on some GPU costs speed, never correct vectors.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{LayerNorm, Linear};
use candle_transformers::models::bert::{Config, HiddenAct};

use super::packed::Packed;
use super::{dtype_name, weights_dtype, CandleEncoder, Embedder, Encoder, Pooling};
use crate::bert::Layer;
use crate::cuda_kernels::{self as k, HEAD_SIZES, MAX_LAYER_NORM_WIDTH};
use crate::error::candle_message;

/// The lowest cosine between fused and reference vectors that passes the start-up check: far
/// below what f16 rounding can cost, above what a wrong kernel gives.
const FUSED_MIN_COSINE: f32 = 0.999;

/// The model on the fused kernels. It keeps the candle encoder: the same weights, tokenizer and
/// device, and the reference for the start-up check.
pub(super) struct FusedEncoder {
    candle: CandleEncoder,
    layers: Vec<FusedLayer>,
    eps: f32,
    /// Texts per forward pass.
    packed_batch: usize,
}

/// A layer's biases and norms arranged for the fused kernels, made once at load.
struct FusedLayer {
    qkv_bias: Tensor,
    /// (3, hidden): output bias, gamma, beta of the attention block's LayerNorm.
    attention_params: Tensor,
    intermediate_bias: Tensor,
    /// (3, hidden): the same for the layer's output LayerNorm.
    output_params: Tensor,
}

/// The fused encoder when the device, the number type and the model's shapes allow it and it
/// agrees with candle's ops on texts of several lengths (one past a 64-token tile, padding in
/// the reference batch); else `candle`. With what that adds to the backend description.
pub(super) fn fastest(
    candle: CandleEncoder,
    config: &Config,
    max_tokens: usize,
) -> Result<(Encoder, String)> {
    if candle.pooling != Pooling::Mean {
        let note = ", candle kernels (the fused kernels pool by mean only)".to_string();
        return Ok((Encoder::Candle(candle), note));
    }
    let dtype = weights_dtype(&candle.device);
    let layers = fused_layers(&candle.model.layers, config, &candle.device, dtype)?;
    let Some(layers) = layers else {
        let note = ", candle kernels (no fused kernels for this model)".to_string();
        return Ok((Encoder::Candle(candle), note));
    };
    let fused = FusedEncoder {
        packed_batch: packed_batch(&candle.device, config, max_tokens),
        layers,
        eps: config.layer_norm_eps as f32,
        candle,
    };
    let outcome = fused.check();
    Ok(match outcome {
        Ok(cosine) if cosine >= FUSED_MIN_COSINE => {
            (Encoder::Fused(fused), ", fused kernels".to_string())
        }
        Ok(cosine) => (
            Encoder::Candle(fused.candle),
            format!(", candle kernels (the fused kernels disagreed with them: cosine {cosine:.4})"),
        ),
        Err(e) => (
            Encoder::Candle(fused.candle),
            format!(", candle kernels (the fused kernels failed: {e})"),
        ),
    })
}

impl Embedder {
    /// The same model on candle's own ops (no fused kernels), for comparing the two.
    pub fn without_fused_kernels(mut self) -> Embedder {
        self.encoder = match self.encoder {
            Encoder::Fused(fused) => {
                self.backend = format!(
                    "{}, candle kernels (asked for)",
                    dtype_name(weights_dtype(&fused.candle.device))
                );
                Encoder::Candle(fused.candle)
            }
            candle => candle,
        };
        self
    }
}

impl FusedEncoder {
    /// The lowest cosine between the fused and candle's vectors for the check texts.
    fn check(&self) -> std::result::Result<f32, String> {
        let texts = fused_check_texts();
        let encodings = self
            .candle
            .tokenizer
            .encode_batch(texts, true)
            .map_err(|e| e.to_string())?;
        let rows: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        let reference = self
            .candle
            .embed_ids(&rows)
            .map_err(|e| candle_message(&e))?;
        let fused = self
            .embed_packed(&rows)
            .and_then(|t| t.to_vec2::<f32>())
            .map_err(|e| candle_message(&e))?;
        Ok(reference
            .iter()
            .zip(&fused)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
            .fold(1.0f32, f32::min))
    }

    /// Texts in groups of `packed_batch`, each group one packed forward pass; the next group is
    /// tokenised on the CPU while the GPU runs the previous one.
    pub(super) fn embed(&self, texts: &[String]) -> crate::Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        let mut running: Option<Tensor> = None;
        for group in texts.chunks(self.packed_batch) {
            let encodings = self.candle.tokenize(group)?;
            let rows: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
            let next = self.embed_packed(&rows)?;
            if let Some(done) = running.replace(next) {
                out.extend(done.to_vec2::<f32>()?);
            }
        }
        if let Some(done) = running {
            out.extend(done.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    /// Sentence embeddings for `rows` (token ids): the sequences packed without padding, the
    /// masked mean of the last hidden states, L2-normalised; (rows, hidden) f32. Returns before
    /// the GPU is done: reading the tensor waits for it.
    fn embed_packed(&self, rows: &[&[u32]]) -> Result<Tensor> {
        let device = &self.candle.device;
        let model = &self.candle.model;
        let Packed {
            ids,
            positions,
            offsets,
            max_len,
        } = Packed::new(rows)?;
        let total = ids.len();
        let ids = Tensor::from_vec(ids, total, device)?;
        let positions = Tensor::from_vec(positions, total, device)?;
        let offsets = Tensor::from_vec(offsets, rows.len() + 1, device)?;
        let e = &model.embeddings;
        let segment = e.token_type.embeddings().get(0)?;
        let x =
            (e.word.forward(&ids)? + e.position.forward(&positions)?)?.broadcast_add(&segment)?;
        let mut x = e.norm.forward(&x)?;
        for (layer, f) in model.layers.iter().zip(&self.layers) {
            let qkv = x.matmul(&layer.qkv.weight().t()?)?;
            let context = k::attention(&qkv, &f.qkv_bias, &offsets, layer.heads, max_len)?;
            let attended = context.matmul(&layer.attention_out.weight().t()?)?;
            x = k::bias_residual_layer_norm(&attended, &x, &f.attention_params, self.eps)?;
            let inner = x.matmul(&layer.intermediate.weight().t()?)?;
            let inner = match layer.act {
                HiddenAct::Gelu => k::bias_gelu(&inner, &f.intermediate_bias)?,
                HiddenAct::GeluApproximate => inner.broadcast_add(&f.intermediate_bias)?.gelu()?,
                HiddenAct::Relu => inner.broadcast_add(&f.intermediate_bias)?.relu()?,
            };
            let out = inner.matmul(&layer.output.weight().t()?)?;
            x = k::bias_residual_layer_norm(&out, &x, &f.output_params, self.eps)?;
        }
        k::mean_pool(&x, &offsets)
    }
}

/// The fused path's per-layer tensors, or None where it cannot run (not CUDA, not f16, or shapes
/// the kernels do not take): the encoder then uses candle's ops.
fn fused_layers(
    layers: &[Layer],
    c: &Config,
    device: &Device,
    dtype: DType,
) -> Result<Option<Vec<FusedLayer>>> {
    let head_size = c.hidden_size / c.num_attention_heads;
    if !device.is_cuda()
        || dtype != DType::F16
        || !HEAD_SIZES.contains(&head_size)
        || c.hidden_size > MAX_LAYER_NORM_WIDTH
        || !c.intermediate_size.is_multiple_of(2)
    {
        return Ok(None);
    }
    let bias = |l: &Linear| match l.bias() {
        Some(b) => Ok(b.clone()),
        None => Tensor::zeros(l.weight().dim(0)?, dtype, device),
    };
    let params = |l: &Linear, n: &LayerNorm| -> Result<Tensor> {
        let beta = match n.bias() {
            Some(b) => b.clone(),
            None => n.weight().zeros_like()?,
        };
        Tensor::stack(&[bias(l)?, n.weight().clone(), beta], 0)?.contiguous()
    };
    layers
        .iter()
        .map(|l| {
            Ok(FusedLayer {
                qkv_bias: bias(&l.qkv)?,
                attention_params: params(&l.attention_out, &l.attention_norm)?,
                intermediate_bias: bias(&l.intermediate)?,
                output_params: params(&l.output, &l.output_norm)?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Short, long and tile-crossing texts for the start-up check.
fn fused_check_texts() -> Vec<String> {
    let sentence = "Quire reads the pages of a PDF, cuts them into passages and answers questions \
                    about them with citations, entirely on this machine. ";
    vec![
        "Which margins does the article class use?".to_string(),
        sentence.repeat(3),
        sentence.repeat(7),
        "x".to_string(),
    ]
}

/// Texts per packed forward pass on CUDA: as many as fit a quarter of the free GPU memory at
/// the model's longest input (activations of ~ 8 x hidden + 2 x intermediate f16 values per
/// token), at most 512 (where the GPU is already saturated), at least 16.
fn packed_batch(device: &Device, config: &Config, max_tokens: usize) -> usize {
    let per_text = 2 * (8 * config.hidden_size + 2 * config.intermediate_size) * max_tokens.max(1);
    let free = match device {
        Device::Cuda(d) => d
            .cuda_stream()
            .context()
            .mem_get_info()
            .map(|(free, _)| free),
        _ => return 16,
    };
    match free {
        Ok(free) => (free / 4 / per_text).clamp(16, 512),
        Err(_) => 64,
    }
}
