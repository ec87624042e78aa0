//! Quire's fused CUDA kernels (`kernels/bert.cu`, compiled to PTX by `build.rs`) as candle ops.
//!
//! Each op takes contiguous f16 tensors on a CUDA device and returns a new tensor; what each
//! kernel computes is described in `kernels/bert.cu`, where `kernels/emu/kernel_test.cpp` also
//! checks it on the CPU. The encoder only uses them after a start-up check against candle's own
//! ops on the same GPU (see `embed/cuda.rs`).

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::sys::CUfunction_attribute;
use candle_core::cuda_backend::cudarc::driver::{CudaView, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::{CudaDType, WrapErr};
use candle_core::{
    bail, CpuStorage, CudaDevice, CudaStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor,
};
use half::f16;

const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/bert.ptx"));
const MODULE: &str = "quire_bert";
/// Rows of one attention block, as in kernels/bert.cu (`quire_attn::BQ`).
const QUERY_TILE: usize = 64;
/// Widest row the layer-norm kernel takes (`64 * QUIRE_LN_PAIRS`).
pub const MAX_LAYER_NORM_WIDTH: usize = 1024;
/// Head sizes with an attention kernel.
pub const HEAD_SIZES: [usize; 2] = [32, 64];

fn view<'a, T: CudaDType>(s: &'a CudaStorage, l: &Layout, what: &str) -> Result<CudaView<'a, T>> {
    let slice = s.as_cuda_slice::<T>()?;
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(slice.slice(start..end)),
        None => bail!("{what} must be contiguous"),
    }
}

fn gpu_only(name: &str) -> Result<(CpuStorage, Shape)> {
    bail!("{name} runs on CUDA devices only")
}

fn dims2(l: &Layout, what: &str) -> Result<(usize, usize)> {
    match l.shape().dims() {
        [a, b] => Ok((*a, *b)),
        other => bail!("{what} must be 2-dimensional, got {other:?}"),
    }
}

struct BiasGelu;

impl CustomOp2 for BiasGelu {
    fn name(&self) -> &'static str {
        "quire-bias-gelu"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        gpu_only(self.name())
    }

    fn cuda_fwd(
        &self,
        xs: &CudaStorage,
        xl: &Layout,
        bs: &CudaStorage,
        bl: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let (rows, cols) = dims2(xl, "bias-gelu input")?;
        if !cols.is_multiple_of(2) || bl.shape().elem_count() != cols {
            bail!(
                "bias-gelu: {cols} columns with a bias of {}",
                bl.shape().elem_count()
            );
        }
        let dev = xs.device().clone();
        let x = view::<f16>(xs, xl, "bias-gelu input")?;
        let bias = view::<f16>(bs, bl, "bias")?;
        let out = unsafe { dev.alloc::<f16>(rows * cols)? };
        let pairs = rows * cols / 2;
        let func = dev.get_or_load_custom_func("quire_bias_gelu_f16", MODULE, PTX)?;
        let mut b = func.builder();
        let (r, c) = (rows as u32, cols as u32);
        b.arg(&x).arg(&bias).arg(&out).arg(&r).arg(&c);
        let cfg = LaunchConfig {
            grid_dim: (pairs.div_ceil(256).clamp(1, 65535) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the arguments match the kernel's signature; every index is bounded by rows*cols.
        unsafe { b.launch(cfg) }.w()?;
        Ok((CudaStorage::wrap_cuda_slice(out, dev), xl.shape().clone()))
    }
}

struct BiasResidualLayerNorm {
    eps: f32,
}

impl CustomOp3 for BiasResidualLayerNorm {
    fn name(&self) -> &'static str {
        "quire-bias-residual-layer-norm"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        gpu_only(self.name())
    }

    fn cuda_fwd(
        &self,
        xs: &CudaStorage,
        xl: &Layout,
        rs: &CudaStorage,
        rl: &Layout,
        ps: &CudaStorage,
        pl: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let (rows, cols) = dims2(xl, "layer-norm input")?;
        if rl.shape() != xl.shape() || pl.shape().dims() != [3, cols] {
            bail!(
                "layer norm: input {:?}, residual {:?}, parameters {:?}",
                xl.shape(),
                rl.shape(),
                pl.shape()
            );
        }
        if !cols.is_multiple_of(2) || cols > MAX_LAYER_NORM_WIDTH {
            bail!("layer norm: {cols} columns (even and at most {MAX_LAYER_NORM_WIDTH})");
        }
        let dev = xs.device().clone();
        let x = view::<f16>(xs, xl, "layer-norm input")?;
        let residual = view::<f16>(rs, rl, "residual")?;
        let params = view::<f16>(ps, pl, "layer-norm parameters")?;
        let out = unsafe { dev.alloc::<f16>(rows * cols)? };
        let func = dev.get_or_load_custom_func("quire_bias_residual_layernorm_f16", MODULE, PTX)?;
        let mut b = func.builder();
        let (r, c) = (rows as u32, cols as u32);
        b.arg(&x)
            .arg(&residual)
            .arg(&params)
            .arg(&out)
            .arg(&r)
            .arg(&c)
            .arg(&self.eps);
        const WARPS: usize = 4;
        let cfg = LaunchConfig {
            grid_dim: (rows.div_ceil(WARPS) as u32, 1, 1),
            block_dim: (32 * WARPS as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: as above; one warp per row, rows past the end return at once.
        unsafe { b.launch(cfg) }.w()?;
        Ok((CudaStorage::wrap_cuda_slice(out, dev), xl.shape().clone()))
    }
}

struct Attention {
    heads: usize,
    max_len: usize,
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "quire-attention"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        gpu_only(self.name())
    }

    fn cuda_fwd(
        &self,
        qs: &CudaStorage,
        ql: &Layout,
        bs: &CudaStorage,
        bl: &Layout,
        os: &CudaStorage,
        ol: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let (tokens, width) = dims2(ql, "qkv")?;
        let hidden = width / 3;
        let head_size = hidden / self.heads;
        let sequences = ol.shape().elem_count().saturating_sub(1);
        let (name, shared) = match head_size {
            32 => ("quire_attention_d32", 51_200u32),
            64 => ("quire_attention_d64", 71_680u32),
            other => bail!("attention: no kernel for head size {other}"),
        };
        if width != 3 * head_size * self.heads || bl.shape().elem_count() != width {
            bail!(
                "attention: qkv {:?} with bias {:?} for {} heads",
                ql.shape(),
                bl.shape(),
                self.heads
            );
        }
        let dev: CudaDevice = qs.device().clone();
        let qkv = view::<f16>(qs, ql, "qkv")?;
        let bias = view::<f16>(bs, bl, "qkv bias")?;
        let offsets = view::<u32>(os, ol, "offsets")?;
        let out = unsafe { dev.alloc::<f16>(tokens * hidden)? };
        let func = dev.get_or_load_custom_func(name, MODULE, PTX)?;
        func.set_attribute(
            CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            shared as i32,
        )
        .w()?;
        let mut b = func.builder();
        let heads = self.heads as u32;
        let scale = 1.0f32 / (head_size as f32).sqrt();
        b.arg(&qkv)
            .arg(&bias)
            .arg(&offsets)
            .arg(&out)
            .arg(&heads)
            .arg(&scale);
        let cfg = LaunchConfig {
            grid_dim: (
                self.max_len.div_ceil(QUERY_TILE).max(1) as u32,
                heads,
                sequences as u32,
            ),
            block_dim: (128, 1, 1),
            shared_mem_bytes: shared,
        };
        // SAFETY: offsets are increasing and end at `tokens` (checked by the caller that built
        // them); blocks past a sequence's end return before touching memory.
        unsafe { b.launch(cfg) }.w()?;
        Ok((
            CudaStorage::wrap_cuda_slice(out, dev),
            Shape::from((tokens, hidden)),
        ))
    }
}

struct MeanPool;

impl CustomOp2 for MeanPool {
    fn name(&self) -> &'static str {
        "quire-mean-pool"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        gpu_only(self.name())
    }

    fn cuda_fwd(
        &self,
        xs: &CudaStorage,
        xl: &Layout,
        os: &CudaStorage,
        ol: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let (_, cols) = dims2(xl, "hidden states")?;
        let sequences = ol.shape().elem_count().saturating_sub(1);
        let dev = xs.device().clone();
        let x = view::<f16>(xs, xl, "hidden states")?;
        let offsets = view::<u32>(os, ol, "offsets")?;
        let out = unsafe { dev.alloc::<f32>(sequences * cols)? };
        let func = dev.get_or_load_custom_func("quire_mean_pool_f16", MODULE, PTX)?;
        let mut b = func.builder();
        let c = cols as u32;
        b.arg(&x).arg(&offsets).arg(&out).arg(&c);
        let cfg = LaunchConfig {
            grid_dim: (sequences as u32, 1, 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: one block per sequence, rows bounded by the offsets.
        unsafe { b.launch(cfg) }.w()?;
        Ok((
            CudaStorage::wrap_cuda_slice(out, dev),
            Shape::from((sequences, cols)),
        ))
    }
}

/// gelu(x + bias) (exact erf form); x: (rows, cols) f16, bias: (cols).
pub fn bias_gelu(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    x.apply_op2_no_bwd(bias, &BiasGelu)
}

/// LayerNorm(x + bias + residual); `params`: (3, cols) = bias, gamma, beta.
pub fn bias_residual_layer_norm(
    x: &Tensor,
    residual: &Tensor,
    params: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    x.apply_op3_no_bwd(residual, params, &BiasResidualLayerNorm { eps })
}

/// Multi-head self-attention over packed sequences: `qkv` (tokens, 3 * hidden) without bias,
/// `bias` (3 * hidden), `offsets` (sequences + 1) u32; returns (tokens, hidden).
pub fn attention(
    qkv: &Tensor,
    bias: &Tensor,
    offsets: &Tensor,
    heads: usize,
    max_len: usize,
) -> Result<Tensor> {
    qkv.apply_op3_no_bwd(bias, offsets, &Attention { heads, max_len })
}

/// The masked mean of each sequence's rows, L2-normalised: (sequences, hidden) f32.
pub fn mean_pool(hidden: &Tensor, offsets: &Tensor) -> Result<Tensor> {
    hidden.apply_op2_no_bwd(offsets, &MeanPool)
}
