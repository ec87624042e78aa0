//! llama.cpp's codes in a GGUF file: quantisation names (`enum llama_ftype` in llama.h) and the
//! tensor types with their block layout (`enum ggml_type` and `type_traits` in ggml.c, the
//! sizes checked against `sizeof(block_*)` of the llama.cpp vendored by llama-cpp-sys-2).

use super::{damaged, Result};

/// The quantisation named by `general.file_type`, as people write it ("Q4_K_M").
pub fn file_type_name(file_type: u32) -> Option<&'static str> {
    // Bit 10 (LLAMA_FTYPE_GUESSED) marks a type llama.cpp guessed; the name is the same.
    let name = match file_type & !1024 {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        33 => "Q4_0_4_4",
        34 => "Q4_0_4_8",
        35 => "Q4_0_8_8",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        41 => "Q2_0",
        _ => return None,
    };
    Some(name)
}

/// A tensor type's name and layout: (name, values per block, bytes per block).
fn tensor_type(tensor_type: u32) -> Option<(&'static str, u64, u64)> {
    let layout = match tensor_type {
        0 => ("F32", 1, 4),
        1 => ("F16", 1, 2),
        2 => ("Q4_0", 32, 18),
        3 => ("Q4_1", 32, 20),
        6 => ("Q5_0", 32, 22),
        7 => ("Q5_1", 32, 24),
        8 => ("Q8_0", 32, 34),
        9 => ("Q8_1", 32, 36),
        10 => ("Q2_K", 256, 84),
        11 => ("Q3_K", 256, 110),
        12 => ("Q4_K", 256, 144),
        13 => ("Q5_K", 256, 176),
        14 => ("Q6_K", 256, 210),
        15 => ("Q8_K", 256, 292),
        16 => ("IQ2_XXS", 256, 66),
        17 => ("IQ2_XS", 256, 74),
        18 => ("IQ3_XXS", 256, 98),
        19 => ("IQ1_S", 256, 50),
        20 => ("IQ4_NL", 32, 18),
        21 => ("IQ3_S", 256, 110),
        22 => ("IQ2_S", 256, 82),
        23 => ("IQ4_XS", 256, 136),
        24 => ("I8", 1, 1),
        25 => ("I16", 1, 2),
        26 => ("I32", 1, 4),
        27 => ("I64", 1, 8),
        28 => ("F64", 1, 8),
        29 => ("IQ1_M", 256, 56),
        30 => ("BF16", 1, 2),
        34 => ("TQ1_0", 256, 54),
        35 => ("TQ2_0", 256, 66),
        39 => ("MXFP4", 32, 17),
        40 => ("NVFP4", 64, 36),
        41 => ("Q1_0", 128, 18),
        42 => ("Q2_0", 64, 18),
        _ => return None,
    };
    Some(layout)
}

/// The name of a tensor type ("Q4_K"), when known.
pub fn tensor_type_name(code: u32) -> Option<&'static str> {
    tensor_type(code).map(|(name, _, _)| name)
}

/// Bytes of a tensor's data, or `None` for a type newer than this table (its size is then not
/// checked). `row` is the first dimension, which must fill whole blocks.
pub(super) fn tensor_bytes(code: u32, row: u64, elements: u64) -> Result<Option<u64>> {
    if code >= 64 {
        return Err(damaged(format!("a tensor has the unknown type {code}")));
    }
    let Some((name, block, size)) = tensor_type(code) else {
        return Ok(None);
    };
    if !row.is_multiple_of(block) {
        return Err(damaged(format!(
            "a {name} tensor's rows of {row} values do not fill its blocks of {block}"
        )));
    }
    (elements / block)
        .checked_mul(size)
        .map(Some)
        .ok_or_else(|| damaged("a tensor's size is impossibly large"))
}
