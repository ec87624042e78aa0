//! The CPU encoder's row-wise passes, compiled twice: for the baseline CPU and, picked at run
//! time, for AVX2 with FMA. The loops are written so that the compiler vectorises them: eight
//! accumulators for sums and maxima, branch-free exp and erf.

use candle_transformers::models::bert::HiddenAct;

use super::cpu::Norm;
use crate::bert::erf;

macro_rules! dispatch {
    ($($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $body:block)*) => {$(
        $(#[$meta])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                fn avx512($($arg: $ty),*) {
                    generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    generic($($arg),*)
                }
                if super::simd::has_avx512() {
                    // SAFETY: the CPU has the features `avx512` was compiled for.
                    return unsafe { avx512($($arg),*) };
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

/// Whether the CPU has the AVX-512 subsets the passes' widest version is compiled for.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512dq")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("fma")
}

/// The larger of two floats as one `max` instruction (no NaN handling: none occur here).
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// The smaller of two floats as one `min` instruction (no NaN handling: none occur here).
#[inline(always)]
fn min(a: f32, b: f32) -> f32 {
    if a < b {
        a
    } else {
        b
    }
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
pub(crate) fn exp(x: f32) -> f32 {
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

    /// Quantises `x` to bytes over its own range: x = (byte − zero) · scale, with the range
    /// widened to hold 0, setting both. A row after GELU (from about −0.17 up) gets twice the
    /// resolution a symmetric ±max range gives. 254 steps, not 255: with the zero rounded to a
    /// whole byte, every value then lands within 0..=255 unclamped.
    /// `shift` is set to zero · scale: the row's values are byte · scale − shift.
    fn quantize_row(x: &[f32], bytes: &mut [u8], scale: &mut f32, shift: &mut f32) {
        // Two passes: one loop keeping both extremes is not vectorised as well.
        let extreme = |pick: fn(f32, f32) -> f32| {
            let mut lanes = [0f32; 16];
            let mut chunks = x.chunks_exact(16);
            for c in &mut chunks {
                for i in 0..16 {
                    lanes[i] = pick(lanes[i], c[i]);
                }
            }
            chunks.remainder().iter().chain(&lanes).fold(0f32, |a, &b| pick(a, b))
        };
        let (lo, hi) = (extreme(min), extreme(max));
        let s = if hi > lo { (hi - lo) / 254.0 } else { 1.0 };
        let inv = 1.0 / s;
        // lo ≤ 0 ≤ hi, so 0 ≤ z ≤ 254, and x / s + z lies within −0.5..=254.5.
        let z = (-lo * inv).round();
        (*scale, *shift) = (s, z * s);
        for (b, v) in bytes.iter_mut().zip(x) {
            // Rounded to nearest by adding 1.5·2²³ (`round` is a libm call on the baseline CPU,
            // and a float-to-int cast is not vectorised): the low byte of the sum's bits is
            // then the rounded value.
            let t = (v * inv + z) + 12_582_912.0;
            *b = t.to_bits() as u8;
        }
    }

    fn softmax(row: &mut [f32]) {
        let mut lanes = [f32::MIN; 8];
        let mut chunks = row.chunks_exact(8);
        for c in &mut chunks {
            for i in 0..8 {
                lanes[i] = max(lanes[i], c[i]);
            }
        }
        let max = chunks
            .remainder()
            .iter()
            .chain(&lanes)
            .fold(f32::MIN, |a, &b| max(a, b));
        for x in row.iter_mut() {
            *x = exp(*x - max);
        }
        let inv = 1.0 / sum(row);
        for x in row.iter_mut() {
            *x *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_within_a_few_ulp_of_std() {
        let mut worst = 0f32;
        for i in 0..=200_000 {
            let x = -87.0 + i as f32 * (87.0 + 20.0) / 200_000.0;
            let (ours, std) = (exp(x), x.exp());
            worst = worst.max(((ours - std) / std).abs());
        }
        assert!(worst < 4e-7, "largest relative error {worst}");
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 9.0).collect();
        let original = row.clone();
        softmax(&mut row);
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
