//! A BERT encoder for sentence embeddings, tuned for inference.
//!
//! Same architecture and weights layout as Hugging Face's `BertModel` (and candle's), with the
//! work arranged for speed: one fused matrix multiply for query, key and value; the
//! 1/sqrt(head size) scale applied to the query instead of the scores; a fused softmax; and no
//! attention mask at all for batches without padding (the embedder sorts by length, so most
//! batches have none).
//!
//! With the `cuda` feature and an f16 model on a CUDA device, `embed/cuda.rs` runs the same
//! weights a second way, on Quire's fused kernels; it reads the fields that are `pub(crate)`.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

pub(crate) struct Embeddings {
    pub(crate) word: Embedding,
    pub(crate) position: Embedding,
    pub(crate) token_type: Embedding,
    pub(crate) norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        Ok(Embeddings {
            word: embedding(c.vocab_size, c.hidden_size, vb.pp("word_embeddings"))?,
            position: embedding(
                c.max_position_embeddings,
                c.hidden_size,
                vb.pp("position_embeddings"),
            )?,
            token_type: embedding(
                c.type_vocab_size,
                c.hidden_size,
                vb.pp("token_type_embeddings"),
            )?,
            norm: layer_norm(c.hidden_size, c.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        // Sentence embeddings use a single segment: token type 0 for every token.
        let segment = self.token_type.embeddings().get(0)?;
        let x = self.word.forward(ids)?;
        let x = x
            .broadcast_add(&self.position.forward(&positions)?)?
            .broadcast_add(&segment)?;
        self.norm.forward(&x)
    }
}

pub(crate) struct Layer {
    pub(crate) qkv: Linear,
    pub(crate) attention_out: Linear,
    pub(crate) attention_norm: LayerNorm,
    pub(crate) intermediate: Linear,
    pub(crate) output: Linear,
    pub(crate) output_norm: LayerNorm,
    pub(crate) heads: usize,
    head_size: usize,
    pub(crate) act: HiddenAct,
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let h = c.hidden_size;
        let attn = vb.pp("attention");
        let own = attn.pp("self");
        let weight = |name: &str| own.pp(name).get((h, h), "weight");
        let bias = |name: &str| own.pp(name).get(h, "bias");
        let qkv_weight = Tensor::cat(&[weight("query")?, weight("key")?, weight("value")?], 0)?;
        let qkv_bias = Tensor::cat(&[bias("query")?, bias("key")?, bias("value")?], 0)?;
        Ok(Layer {
            qkv: Linear::new(qkv_weight, Some(qkv_bias)),
            attention_out: linear(h, h, attn.pp("output").pp("dense"))?,
            attention_norm: layer_norm(h, c.layer_norm_eps, attn.pp("output").pp("LayerNorm"))?,
            intermediate: linear(h, c.intermediate_size, vb.pp("intermediate").pp("dense"))?,
            output: linear(c.intermediate_size, h, vb.pp("output").pp("dense"))?,
            output_norm: layer_norm(h, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
            heads: c.num_attention_heads,
            head_size: h / c.num_attention_heads,
            act: c.hidden_act,
        })
    }

    /// `mask`: None, or an additive mask of shape (batch, 1, 1, len).
    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (b, len, hidden) = x.dims3()?;
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((b, len, 3, self.heads, self.head_size))?;
        let q = (qkv.narrow(2, 0, 1)?.squeeze(2)?.transpose(1, 2)?
            * (1.0 / (self.head_size as f64).sqrt()))?;
        let k = qkv
            .narrow(2, 1, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let v = qkv
            .narrow(2, 2, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let scores = q.contiguous()?.matmul(&k.t()?)?;
        let scores = match mask {
            Some(mask) => scores.broadcast_add(mask)?,
            None => scores,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, len, hidden))?;
        let x = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let inner = self.intermediate.forward(&x)?;
        let inner = match self.act {
            HiddenAct::Gelu if inner.device().is_cpu() && inner.dtype() == DType::F32 => {
                inner.contiguous()?.apply_op1_no_bwd(&GeluErf)?
            }
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        self.output_norm
            .forward(&(self.output.forward(&inner)? + x)?)
    }
}

/// The encoder: token ids in, last hidden states out.
pub struct Bert {
    pub(crate) embeddings: Embeddings,
    pub(crate) layers: Vec<Layer>,
}

impl Bert {
    pub fn load(vb: VarBuilder, c: &Config) -> Result<Bert> {
        // Checkpoints name the tensors with or without a "bert." (or model type) prefix.
        let prefix = [Some("bert".to_string()), c.model_type.clone()]
            .into_iter()
            .flatten()
            .find(|p| vb.contains_tensor(&format!("{p}.embeddings.word_embeddings.weight")));
        let vb = match prefix {
            Some(p) => vb.pp(p),
            None => vb,
        };
        let embeddings = Embeddings::load(vb.pp("embeddings"), c)?;
        let layers: Vec<Layer> = (0..c.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), c))
            .collect::<Result<_>>()?;
        Ok(Bert { embeddings, layers })
    }

    /// `ids` and `mask` are (batch, len) u32 tensors; `padded` says whether any mask entry is 0.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, padded: bool) -> Result<Tensor> {
        let mut x = self.embeddings.forward(ids)?;
        let additive = if padded {
            // 0 where a token is real, the most negative float where it is padding.
            let m = mask.to_dtype(DType::F32)?;
            let m = ((m - 1.0)? * -(f32::MIN as f64))?;
            Some(m.unsqueeze(1)?.unsqueeze(1)?.to_dtype(x.dtype())?)
        } else {
            None
        };
        for layer in &self.layers {
            x = layer.forward(&x, additive.as_ref())?;
        }
        Ok(x)
    }
}

/// GELU with the exact (erf) form, as BERT was trained with, for f32 on the CPU. candle's own
/// version calls a scalar `erff` per element, which was ~12 % of the embedding time; this one
/// uses a rational approximation of erf (the one XLA and Eigen use, max error ~1e-7) that the
/// compiler vectorises (plain `*` and `+`: `mul_add` would call a software `fmaf` on CPUs
/// targeted without FMA).
struct GeluErf;

pub(crate) fn erf(x: f32) -> f32 {
    // Beyond ±4, erf is ±1 in single precision.
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10_f32;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 + -2.101_024e-6;
    let p = p * x2 + -5.692_506_4e-5;
    let p = p * x2 + -7.349_906_3e-4;
    let p = p * x2 + -2.954_600_1e-3;
    let p = p * x2 + -1.609_603_3e-2;
    let q = -1.456_607_2e-5_f32;
    let q = q * x2 + -2.133_740_6e-4;
    let q = q * x2 + -1.682_827e-3;
    let q = q * x2 + -7.373_329_2e-3;
    let q = q * x2 + -1.426_474e-2;
    x * p / q
}

fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "quire-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("gelu-erf: f32 only");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu-erf: contiguous input only");
        };
        let values: Vec<f32> = data[start..end].iter().map(|&x| gelu_erf(x)).collect();
        Ok((CpuStorage::F32(values), layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_gelu_matches_candles_exact_gelu() {
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.005).collect();
        let t = Tensor::new(xs.as_slice(), &candle_core::Device::Cpu).unwrap();
        let ours = t
            .apply_op1_no_bwd(&GeluErf)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let exact = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        let worst = ours
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-6, "largest difference {worst}");
    }
}
