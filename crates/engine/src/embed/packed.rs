//! Sequences packed one after another without padding, as the fused CUDA path takes them.
//! Plain Rust, compiled for tests in every build.

use candle_core::Result;

/// Sequences packed one after another: token ids, each token's position within its sequence,
/// and where each sequence starts (`offsets[s]..offsets[s + 1]` are sequence s's tokens).
#[derive(Debug, PartialEq)]
pub(super) struct Packed {
    pub ids: Vec<u32>,
    pub positions: Vec<u32>,
    pub offsets: Vec<u32>,
    pub max_len: usize,
}

impl Packed {
    pub fn new(rows: &[&[u32]]) -> Result<Packed> {
        let total: usize = rows.iter().map(|r| r.len()).sum();
        if total > u32::MAX as usize {
            candle_core::bail!("{total} tokens in one batch");
        }
        let mut packed = Packed {
            ids: Vec::with_capacity(total),
            positions: Vec::with_capacity(total),
            offsets: Vec::with_capacity(rows.len() + 1),
            max_len: 0,
        };
        packed.offsets.push(0);
        for row in rows {
            if row.is_empty() {
                candle_core::bail!("an empty sequence (no tokens, not even [CLS])");
            }
            packed.ids.extend_from_slice(row);
            packed.positions.extend(0..row.len() as u32);
            packed.offsets.push(packed.ids.len() as u32);
            packed.max_len = packed.max_len.max(row.len());
        }
        Ok(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_sequences_restart_positions_and_record_offsets() {
        let packed = Packed::new(&[&[101, 7, 102], &[101, 102], &[101, 5, 6, 9, 102]]).unwrap();
        assert_eq!(packed.ids, [101, 7, 102, 101, 102, 101, 5, 6, 9, 102]);
        assert_eq!(packed.positions, [0, 1, 2, 0, 1, 0, 1, 2, 3, 4]);
        assert_eq!(packed.offsets, [0, 3, 5, 10]);
        assert_eq!(packed.max_len, 5);
        assert!(Packed::new(&[&[101], &[]]).is_err());
    }
}
