//! The int8 path of the CPU encoder: the four projections of every layer with int8 weights
//! (quantised at load, one scale per output) and int8 activations (quantised per token, as
//! PyTorch's dynamic quantisation does per tensor), multiplied with AVX-512 VNNI (`vpdpbusd`:
//! 64 multiply-adds of bytes per instruction, against 16 for an f32 FMA), accumulated in i32.
//! Attention, softmax, GELU and LayerNorm stay f32.
//!
//! Activations are stored as unsigned bytes over each row's own range (value = byte · scale −
//! shift, shift = the byte of 0 · scale), which is what `vpdpbusd` takes; the shift times each
//! output's weights (Σ weights · its scale) is subtracted from the product in floats.
//!
//! Where the CPU has AMX (Intel's tile unit, `tdpbusd`: a 16 × 16 block of sums from 16 × 64
//! bytes by 64 × 16 in one instruction) and Linux lets the process use it, the same packed
//! weights and bytes go through the tiles instead: the same integer sums, so the same floats.

use rayon::prelude::*;

/// Outputs per block of packed weights: two 16-lane registers.
const NR: usize = 32;
/// Rows (tokens) per kernel call.
const MR: usize = 8;
/// Rows per parallel task: its activations (rows × inputs bytes) stay in the core's L2.
const ROWS_PER_TASK: usize = 256;
/// Activation rows are padded to a multiple of this (the AMX kernel's 32 rows per step; a
/// multiple of MR), and inputs to a multiple of K_STEP (one tile row: 64 bytes).
const ROW_PAD: usize = 32;
const K_STEP: usize = 64;

/// Whether this CPU runs the int8 kernel.
pub(super) fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The kernel this process multiplies with, as the backend description names it.
pub(super) fn kernel() -> &'static str {
    if amx::supported() {
        ", AMX tiles"
    } else if supported() {
        ", AVX-512 VNNI"
    } else {
        ""
    }
}

/// A linear layer's weights in int8, packed for the kernel.
pub(super) struct QuantizedWeights {
    /// Blocks of NR outputs; in each, for every group of 4 inputs, NR × 4 bytes: output o's 4
    /// weights at (o % 16) * 4 of the block's (o / 16)-th 64-byte half.
    packed: Vec<i8>,
    /// Per output: weight = q × scale (padded to whole blocks).
    scale: Vec<f32>,
    /// Per output: Σ q · scale, what a row's shift is multiplied with (padded to whole blocks).
    sums: Vec<f32>,
    /// Inputs rounded up to a multiple of K_STEP (padding weights are 0).
    inputs4: usize,
    outputs: usize,
}

impl QuantizedWeights {
    /// From `weight`, (inputs, outputs) row-major.
    pub(super) fn new(weight: &[f32], inputs: usize, outputs: usize) -> QuantizedWeights {
        let inputs4 = inputs.div_ceil(K_STEP) * K_STEP;
        let blocks = outputs.div_ceil(NR);
        let mut packed = vec![0i8; blocks * NR * inputs4];
        let mut scale = vec![0f32; blocks * NR];
        let mut sums = vec![0f32; blocks * NR];
        for o in 0..outputs {
            let column = (0..inputs).map(|i| weight[i * outputs + o]);
            let max = column.clone().fold(0f32, |m, w| m.max(w.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scale[o] = s;
            let (block, lane) = (o / NR, o % NR);
            let mut sum = 0i32;
            for (i, w) in column.enumerate() {
                let q = (w / s).round().clamp(-127.0, 127.0) as i8;
                sum += q as i32;
                let group = i / 4;
                let at = ((block * (inputs4 / 4) + group) * NR + lane) * 4 + i % 4;
                packed[at] = q;
            }
            sums[o] = sum as f32 * s;
        }
        QuantizedWeights {
            packed,
            scale,
            sums,
            inputs4,
            outputs,
        }
    }
}

impl QuantizedWeights {
    /// Block `block` of NR outputs as a tile sees it, writing rows `stride` floats apart.
    fn tile(&self, block: usize, stride: usize, accumulate: bool) -> Tile<'_> {
        let n0 = block * NR;
        Tile {
            b: &self.packed[n0 * self.inputs4..][..NR * self.inputs4],
            sums: &self.sums[n0..][..NR],
            scale: &self.scale[n0..][..NR],
            columns: NR.min(self.outputs - n0),
            stride,
            accumulate,
            width: self.inputs4,
        }
    }
}

/// Activations quantised per row: bytes ((value + shift) / scale), rows padded to a multiple of
/// ROW_PAD and inputs to a multiple of K_STEP (the padding meets zero weights).
#[derive(Default)]
pub(super) struct QuantizedRows {
    bytes: Vec<u8>,
    scale: Vec<f32>,
    /// Per row: the byte that stands for 0, times the scale.
    shift: Vec<f32>,
    rows: usize,
    width: usize,
}

impl QuantizedRows {
    /// Quantises `input` (rows × inputs), reusing this buffer.
    pub(super) fn fill(&mut self, input: &[f32], rows: usize, inputs: usize) {
        let width = inputs.div_ceil(K_STEP) * K_STEP;
        let padded = rows.div_ceil(ROW_PAD) * ROW_PAD;
        self.bytes.clear();
        self.bytes.resize(padded * width, 128);
        self.scale.clear();
        self.scale.resize(padded, 0.0);
        self.shift.clear();
        self.shift.resize(padded, 0.0);
        self.rows = rows;
        self.width = width;
        let per_task = ROWS_PER_TASK;
        self.bytes[..rows * width]
            .par_chunks_mut(width * per_task)
            .zip(self.scale[..rows].par_chunks_mut(per_task))
            .zip(self.shift[..rows].par_chunks_mut(per_task))
            .zip(input[..rows * inputs].par_chunks(inputs * per_task))
            .for_each(|(((bytes, scales), shifts), input)| {
                for (((b, s), z), x) in bytes
                    .chunks_mut(width)
                    .zip(scales.iter_mut())
                    .zip(shifts.iter_mut())
                    .zip(input.chunks(inputs))
                {
                    super::simd::quantize_row(x, b, s, z);
                }
            });
    }
}

/// `out` (rows × outputs) = rows · weights, added to what `out` holds when `accumulate`.
pub(super) fn matmul(
    out: &mut [f32],
    accumulate: bool,
    rows: &QuantizedRows,
    w: &QuantizedWeights,
) {
    assert_eq!(rows.width, w.inputs4);
    assert!(out.len() >= rows.rows * w.outputs);
    let outputs = w.outputs;
    let vnni = supported();
    let tiles = amx::supported();
    out[..rows.rows * outputs]
        .par_chunks_mut(ROWS_PER_TASK * outputs)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * ROWS_PER_TASK;
            let count = out.len() / outputs;
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            if tiles {
                let a = &rows.bytes[first * rows.width..];
                let scales = &rows.scale[first..first + count];
                let shifts = &rows.shift[first..first + count];
                // SAFETY: the CPU has AMX and AVX-512, and the process may use the tiles
                // (`amx::supported`); the rows are padded to ROW_PAD and the width to K_STEP.
                unsafe { amx::task(a, rows.width, scales, shifts, w, accumulate, out) };
                return;
            }
            let _ = tiles;
            for block in 0..outputs.div_ceil(NR) {
                let n0 = block * NR;
                let t = w.tile(block, outputs, accumulate);
                for tile in (0..count).step_by(MR) {
                    let a = &rows.bytes[(first + tile) * rows.width..][..MR * rows.width];
                    let valid = MR.min(count - tile);
                    let scales = &rows.scale[first + tile..][..valid];
                    let shifts = &rows.shift[first + tile..][..valid];
                    let out = &mut out[tile * outputs + n0..];
                    #[cfg(target_arch = "x86_64")]
                    if vnni {
                        // SAFETY: the CPU has the features (`supported`).
                        unsafe { vnni::tile(&t, a, scales, shifts, out) };
                        continue;
                    }
                    let _ = vnni;
                    scalar_tile(&t, a, scales, shifts, out);
                }
            }
        });
}

/// One block of NR outputs of a linear layer, as a tile sees it.
struct Tile<'a> {
    /// The block's packed weights (NR × width bytes).
    b: &'a [i8],
    /// The block's NR weight sums (times their scales) and scales (padded past the last output).
    sums: &'a [f32],
    scale: &'a [f32],
    /// Outputs of the block that exist (NR but in the last block).
    columns: usize,
    /// Floats per row of `out`.
    stride: usize,
    accumulate: bool,
    /// Bytes per row of activations.
    width: usize,
}

/// For up to MR rows of `a` (`scales.len()` of them real, with their `shifts`): out[r][j] (+)=
/// a[r] · b[:, j] in floats, for the tile's columns; `out` starts at the first row's first
/// column.
fn scalar_tile(t: &Tile, a: &[u8], scales: &[f32], shifts: &[f32], out: &mut [f32]) {
    for (r, (&sa, &da)) in scales.iter().zip(shifts).enumerate() {
        let row = &a[r * t.width..][..t.width];
        for j in 0..t.columns {
            let mut acc = 0i32;
            for (group, x) in row.chunks(4).enumerate() {
                let w = &t.b[(group * NR + j) * 4..][..4];
                acc += (0..4).map(|k| x[k] as i32 * w[k] as i32).sum::<i32>();
            }
            let v = (-da).mul_add(t.sums[j], acc as f32 * (sa * t.scale[j]));
            let o = &mut out[r * t.stride + j];
            *o = if t.accumulate { *o + v } else { v };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{Tile, MR, NR};
    use std::arch::x86_64::*;

    /// `scalar_tile` with `vpdpbusd`: MR rows × two registers of 16 outputs in 16 i32
    /// accumulators, then the same float arithmetic per element.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tile(t: &Tile, a: &[u8], scales: &[f32], shifts: &[f32], out: &mut [f32]) {
        let width = t.width;
        assert!(a.len() >= MR * width && t.b.len() >= NR * width);
        assert!(t.sums.len() >= NR && t.scale.len() >= NR && scales.len() <= MR);
        assert_eq!(scales.len(), shifts.len());
        let rows = scales.len();
        assert!(rows == 0 || out.len() >= (rows - 1) * t.stride + t.columns);
        let mut sums = [_mm512_setzero_si512(); 2 * MR];
        let ap = a.as_ptr();
        let bp = t.b.as_ptr();
        for group in 0..width / 4 {
            // SAFETY (all reads and writes): within the lengths asserted above.
            let w0 = _mm512_loadu_si512(bp.add(group * NR * 4) as *const _);
            let w1 = _mm512_loadu_si512(bp.add(group * NR * 4 + 64) as *const _);
            for r in 0..MR {
                let x = (ap.add(r * width + group * 4) as *const i32).read_unaligned();
                let x = _mm512_set1_epi32(x);
                sums[2 * r] = _mm512_dpbusd_epi32(sums[2 * r], x, w0);
                sums[2 * r + 1] = _mm512_dpbusd_epi32(sums[2 * r + 1], x, w1);
            }
        }
        for half in 0..2 {
            let lanes = t.columns.saturating_sub(16 * half).min(16);
            if lanes == 0 {
                continue;
            }
            let weight_sums = _mm512_loadu_ps(t.sums.as_ptr().add(16 * half));
            let scale = _mm512_loadu_ps(t.scale.as_ptr().add(16 * half));
            for (r, (&sa, &da)) in scales.iter().zip(shifts).enumerate() {
                let o = out.as_mut_ptr().add(r * t.stride + 16 * half);
                finish_row(
                    sums[2 * r + half],
                    weight_sums,
                    scale,
                    (sa, da),
                    o,
                    lanes,
                    t.accumulate,
                );
            }
        }
    }

    /// One row's 16 (`lanes` real) i32 sums to floats, as `scalar_tile` computes them:
    /// sum · (row scale · output scale) − row shift · weight sums (one rounding, as `mul_add`),
    /// stored at `o` or added to what it holds.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `o` points to `lanes` writable floats.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn finish_row(
        sum: __m512i,
        weight_sums: __m512,
        scale: __m512,
        (row_scale, row_shift): (f32, f32),
        o: *mut f32,
        lanes: usize,
        accumulate: bool,
    ) {
        let mask: __mmask16 = if lanes >= 16 {
            0xFFFF
        } else {
            (1u16 << lanes) - 1
        };
        let v = _mm512_cvtepi32_ps(sum);
        let v = _mm512_mul_ps(v, _mm512_mul_ps(_mm512_set1_ps(row_scale), scale));
        let v = _mm512_fnmadd_ps(_mm512_set1_ps(row_shift), weight_sums, v);
        // SAFETY: `o` holds `lanes` floats; the masked load and store touch only those.
        unsafe {
            let v = if accumulate {
                _mm512_add_ps(_mm512_maskz_loadu_ps(mask, o), v)
            } else {
                v
            };
            _mm512_mask_storeu_ps(o, mask, v);
        }
    }
}

/// The AMX kernel. Its tile registers are touched by no other code of the process, so they
/// keep their contents between the `asm!` blocks of one task.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod amx {
    use super::{QuantizedWeights, K_STEP, NR, ROW_PAD};
    use std::arch::asm;
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    /// Linux's `arch_prctl` request for the right to use a large state component, and AMX's.
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;

    /// Whether this process runs the AMX kernel: the CPU has AMX-TILE and AMX-INT8 (CPUID
    /// leaf 7, EDX bits 24 and 25) and AVX-512 for the rest, and Linux granted the tile state
    /// (which also says the system saves it on a switch). `QUIRE_NO_AMX=1` turns it off (to
    /// compare the two kernels).
    pub(super) fn supported() -> bool {
        static AMX: OnceLock<bool> = OnceLock::new();
        *AMX.get_or_init(|| {
            if std::env::var_os("QUIRE_NO_AMX").is_some_and(|v| v != "0") || !super::supported() {
                return false;
            }
            let leaf = __cpuid_count(7, 0);
            let tiles = leaf.edx & (1 << 24) != 0 && leaf.edx & (1 << 25) != 0;
            // SAFETY: a request without pointers; it fails cleanly where not supported.
            tiles
                && unsafe {
                    libc::syscall(
                        libc::SYS_arch_prctl,
                        ARCH_REQ_XCOMP_PERM,
                        XFEATURE_XTILEDATA,
                    )
                } == 0
        })
    }

    /// The tile configuration: palette 1, all eight tiles 16 rows of 64 bytes. tmm0-3 hold
    /// 32 rows × 32 outputs of i32 sums, tmm4-5 two 16-row slices of activations, tmm6-7 the
    /// weights of 16 outputs each.
    #[repr(C, align(64))]
    struct Config([u8; 64]);

    impl Config {
        fn new() -> Config {
            let mut c = [0u8; 64];
            c[0] = 1;
            for t in 0..8 {
                c[16 + 2 * t] = 64; // bytes per row (u16, little-endian)
                c[48 + t] = 16; // rows
            }
            Config(c)
        }
    }

    /// Sums of one step: four 16 × 16 tiles of i32, stored row by row.
    #[repr(C, align(64))]
    struct Sums([i32; 4 * 256]);

    /// One task of `matmul`: `out` (scales.len() rows × outputs) (+)= the rows · weights, `a`
    /// starting at the task's first row (rows padded to ROW_PAD after the last one).
    ///
    /// # Safety
    /// The CPU has AMX-INT8 and AVX-512 and the process holds the tile permission
    /// (`supported`); `width` is the weights' and a multiple of K_STEP.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn task(
        a: &[u8],
        width: usize,
        scales: &[f32],
        shifts: &[f32],
        w: &QuantizedWeights,
        accumulate: bool,
        out: &mut [f32],
    ) {
        let rows = scales.len();
        let outputs = w.outputs;
        assert!(width == w.inputs4 && width.is_multiple_of(K_STEP));
        assert!(a.len() >= rows.div_ceil(ROW_PAD) * ROW_PAD * width);
        assert!(out.len() >= rows * outputs);
        let config = Config::new();
        let mut sums = Sums([0; 4 * 256]);
        // SAFETY (every asm block): tile loads read 16 rows of 64 bytes at the given stride,
        // within the lengths asserted above (activations) and the packed blocks (weights:
        // NR × width bytes per block, 128 bytes per group of 4 inputs); stores write `sums`.
        unsafe {
            asm!("ldtilecfg [{}]", in(reg) config.0.as_ptr(), options(nostack, readonly));
        }
        // Rows outer: a step's 32 rows of activations stay in L1 while the weights stream
        // from L2, and the outputs are written row after row (2-4 % faster than blocks outer).
        for r0 in (0..rows).step_by(ROW_PAD) {
            for block in 0..outputs.div_ceil(NR) {
                let n0 = block * NR;
                let b = w.packed[n0 * width..][..NR * width].as_ptr();
                unsafe {
                    asm!(
                        "tilezero tmm0",
                        "tilezero tmm1",
                        "tilezero tmm2",
                        "tilezero tmm3",
                        options(nostack, nomem)
                    );
                }
                let a0 = a[r0 * width..].as_ptr();
                for k in (0..width).step_by(K_STEP) {
                    unsafe {
                        asm!(
                            "tileloadd tmm4, [{a0} + {sa}*1]",
                            "tileloadd tmm5, [{a1} + {sa}*1]",
                            "tileloadd tmm6, [{b0} + {sb}*1]",
                            "tileloadd tmm7, [{b1} + {sb}*1]",
                            "tdpbusd tmm0, tmm4, tmm6",
                            "tdpbusd tmm1, tmm4, tmm7",
                            "tdpbusd tmm2, tmm5, tmm6",
                            "tdpbusd tmm3, tmm5, tmm7",
                            a0 = in(reg) a0.add(k),
                            a1 = in(reg) a0.add(16 * width + k),
                            sa = in(reg) width,
                            b0 = in(reg) b.add(k * NR),
                            b1 = in(reg) b.add(k * NR + 64),
                            sb = in(reg) NR * 4,
                            options(nostack, readonly)
                        );
                    }
                }
                let s = sums.0.as_mut_ptr();
                unsafe {
                    asm!(
                        "tilestored [{s0} + {st}*1], tmm0",
                        "tilestored [{s1} + {st}*1], tmm1",
                        "tilestored [{s2} + {st}*1], tmm2",
                        "tilestored [{s3} + {st}*1], tmm3",
                        s0 = in(reg) s,
                        s1 = in(reg) s.add(256),
                        s2 = in(reg) s.add(512),
                        s3 = in(reg) s.add(768),
                        st = in(reg) 64usize,
                        options(nostack)
                    );
                }
                // tmm0: rows 0-15 × outputs 0-15, tmm1: rows 0-15 × 16-31, tmm2 and tmm3 the
                // same for rows 16-31.
                for (tile, part) in sums.0.chunks_exact(256).enumerate() {
                    let (half, first) = (tile % 2, r0 + 16 * (tile / 2));
                    let lanes = (outputs - n0).saturating_sub(16 * half).min(16);
                    if lanes == 0 || first >= rows {
                        continue;
                    }
                    let at = n0 + 16 * half;
                    let weight_sums = unsafe { _mm512_loadu_ps(w.sums[at..][..16].as_ptr()) };
                    let scale = unsafe { _mm512_loadu_ps(w.scale[at..][..16].as_ptr()) };
                    for (r, row) in part.chunks_exact(16).enumerate().take(rows - first) {
                        let sum = unsafe { _mm512_loadu_si512(row.as_ptr().cast()) };
                        let o = out[(first + r) * outputs + at..][..lanes].as_mut_ptr();
                        let (sa, da) = (scales[first + r], shifts[first + r]);
                        unsafe {
                            super::vnni::finish_row(
                                sum,
                                weight_sums,
                                scale,
                                (sa, da),
                                o,
                                lanes,
                                accumulate,
                            )
                        };
                    }
                }
            }
        }
        unsafe {
            asm!("tilerelease", options(nostack, nomem));
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod amx {
    pub(super) fn supported() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn the_vnni_tile_gives_the_scalar_tiles_floats() {
        if !supported() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI, the scalar tile is all there is");
            return;
        }
        // 5 real rows of 8, 27 real columns of 32, inputs not a multiple of 4.
        let (rows, inputs, outputs) = (5, 42, 27);
        let w = QuantizedWeights::new(&pseudo_random(inputs * outputs, 1), inputs, outputs);
        let mut q = QuantizedRows::default();
        q.fill(&pseudo_random(rows * inputs, 2), rows, inputs);
        for accumulate in [false, true] {
            let t = w.tile(0, outputs, accumulate);
            let start = pseudo_random(rows * outputs, 5);
            let (mut fast, mut slow) = (start.clone(), start);
            // SAFETY: the CPU has the features (checked above).
            let (scales, shifts) = (&q.scale[..rows], &q.shift[..rows]);
            unsafe { vnni::tile(&t, &q.bytes, scales, shifts, &mut fast) };
            scalar_tile(&t, &q.bytes, scales, shifts, &mut slow);
            assert_eq!(fast, slow);
        }
    }

    /// `matmul` through the scalar tile alone.
    fn scalar_matmul(out: &mut [f32], accumulate: bool, q: &QuantizedRows, w: &QuantizedWeights) {
        let outputs = w.outputs;
        for block in 0..outputs.div_ceil(NR) {
            let n0 = block * NR;
            let t = w.tile(block, outputs, accumulate);
            for tile in (0..q.rows).step_by(MR) {
                let a = &q.bytes[tile * q.width..][..MR * q.width];
                let valid = MR.min(q.rows - tile);
                let (scales, shifts) = (&q.scale[tile..][..valid], &q.shift[tile..][..valid]);
                scalar_tile(&t, a, scales, shifts, &mut out[tile * outputs + n0..]);
            }
        }
    }

    #[test]
    fn the_amx_kernel_gives_the_scalar_tiles_floats() {
        if !amx::supported() {
            eprintln!("skipped: this CPU (or system) offers no AMX tiles");
            return;
        }
        // 37 rows (a whole and a partial step of 32, a partial 16), 45 outputs (a partial
        // block and half), inputs padded from 70 to 128.
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        for (rows, inputs, outputs) in [(37, 70, 45), (300, 384, 64)] {
            let w = QuantizedWeights::new(&pseudo_random(inputs * outputs, 7), inputs, outputs);
            let mut q = QuantizedRows::default();
            q.fill(&pseudo_random(rows * inputs, 8), rows, inputs);
            for accumulate in [false, true] {
                let start = pseudo_random(rows * outputs, 9);
                let (mut fast, mut slow) = (start.clone(), start);
                // SAFETY: checked above.
                unsafe {
                    amx::task(
                        &q.bytes,
                        q.width,
                        &q.scale[..rows],
                        &q.shift[..rows],
                        &w,
                        accumulate,
                        &mut fast,
                    )
                };
                scalar_matmul(&mut slow, accumulate, &q, &w);
                assert_eq!(fast, slow, "{rows} × {inputs} × {outputs}");
            }
        }
    }

    #[test]
    fn int8_products_are_close_to_f32() {
        // Shapes that leave partial tiles and blocks, inputs not a multiple of 4.
        let (rows, inputs, outputs) = (37, 70, 45);
        let weight = pseudo_random(inputs * outputs, 3);
        let input = pseudo_random(rows * inputs, 4);
        let w = QuantizedWeights::new(&weight, inputs, outputs);
        let mut q = QuantizedRows::default();
        q.fill(&input, rows, inputs);
        let mut out = vec![1f32; rows * outputs];
        matmul(&mut out, true, &q, &w);
        // Each factor is off by at most half its row's or column's step (scale), so each sum is
        // off by at most Σ (|w|·step_x + |x|·step_w + step_x·step_w / 2) / 2; the typical error
        // is far smaller, as the roundings mostly cancel.
        let mut squares = 0f64;
        for r in 0..rows {
            let step_x = q.scale[r];
            for o in 0..outputs {
                let step_w = w.scale[o];
                let (mut exact, mut bound) = (0f32, 0f32);
                for i in 0..inputs {
                    let (x, wt) = (input[r * inputs + i], weight[i * outputs + o]);
                    exact += x * wt;
                    bound += (wt.abs() * step_x + x.abs() * step_w + step_x * step_w / 2.0) / 2.0;
                }
                let error = (out[r * outputs + o] - 1.0 - exact).abs();
                assert!(
                    error <= bound * 1.001 + 1e-5,
                    "error {error} past the bound {bound}"
                );
                squares += (error as f64).powi(2);
            }
        }
        let rms = (squares / (rows * outputs) as f64).sqrt();
        assert!(rms < 0.02, "typical error {rms}");
    }
}
