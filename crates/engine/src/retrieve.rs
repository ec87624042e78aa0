//! Reciprocal rank fusion of ranked lists.

use std::collections::HashMap;

/// The constant of reciprocal rank fusion (Cormack et al. 2009): damps the weight of the very
/// first ranks so that agreement between lists counts more than one list's top hit.
pub const RRF_K: f64 = 60.0;

/// Fuses ranked lists of ids: each id scores the sum of `1 / (RRF_K + rank)` over the lists it
/// appears in (rank from 1). Returns the best `limit` ids with their scores, best first; ties
/// keep the order of first appearance.
pub fn reciprocal_rank_fusion(lists: &[&[i64]], limit: usize) -> Vec<(i64, f64)> {
    let mut scores: HashMap<i64, (f64, usize)> = HashMap::new();
    let mut seen = 0;
    for list in lists {
        for (rank, &id) in list.iter().enumerate() {
            let entry = scores.entry(id).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            entry.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(i64, f64, usize)> = scores
        .into_iter()
        .map(|(id, (s, order))| (id, s, order))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused
        .into_iter()
        .take(limit)
        .map(|(id, s, _)| (id, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_beats_a_single_top_hit() {
        let dense = [1, 2, 3];
        let keyword = [4, 2, 5];
        let fused = reciprocal_rank_fusion(&[&dense, &keyword], 3);
        assert_eq!(fused[0].0, 2);
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-12);
        // 1 and 4 tie at rank 1 of one list; the first list's comes first.
        assert_eq!(fused[1].0, 1);
        assert_eq!(fused[2].0, 4);
    }

    #[test]
    fn one_list_keeps_its_order() {
        let fused = reciprocal_rank_fusion(&[&[7, 8, 9], &[]], 10);
        assert_eq!(fused.iter().map(|f| f.0).collect::<Vec<_>>(), [7, 8, 9]);
    }
}
