//! Numbers as bytes between processes (little-endian words), and the sum and maximum of
//! every process's words, taken in rank order: what the all-to-all backends share.

/// `v` as little-endian 8-byte words. (Written into a buffer of the exact size: a
/// `flat_map` collect grew its vector step by step, most of a 4 MB sum's time.)
pub(super) fn f64_bytes(v: &[f64]) -> Vec<u8> {
    let mut out = vec![0u8; 8 * v.len()];
    for (o, x) in out.chunks_exact_mut(8).zip(v) {
        o.copy_from_slice(&x.to_le_bytes());
    }
    out
}

pub(super) fn u64_bytes(v: &[u64]) -> Vec<u8> {
    let mut out = vec![0u8; 8 * v.len()];
    for (o, x) in out.chunks_exact_mut(8).zip(v) {
        o.copy_from_slice(&x.to_le_bytes());
    }
    out
}

fn words(bytes: &[u8]) -> impl Iterator<Item = [u8; 8]> + '_ {
    bytes.chunks_exact(8).map(|c| c.try_into().unwrap())
}

/// `v` = the sum of every part's words, in rank order (exact for the library's sums,
/// whose terms are integers). `false` if a part has another length than `v`.
pub(super) fn sum_parts(v: &mut [f64], parts: &[Vec<u8>]) -> bool {
    if parts.iter().any(|p| p.len() != 8 * v.len()) {
        return false;
    }
    v.iter_mut().for_each(|x| *x = 0.0);
    for part in parts {
        for (x, w) in v.iter_mut().zip(words(part)) {
            *x += f64::from_le_bytes(w);
        }
    }
    true
}

/// `v` = the element-wise maximum of every part's words. `false` on a length mismatch.
pub(super) fn max_parts(v: &mut [u64], parts: &[Vec<u8>]) -> bool {
    if parts.iter().any(|p| p.len() != 8 * v.len()) {
        return false;
    }
    for part in parts {
        for (x, w) in v.iter_mut().zip(words(part)) {
            *x = (*x).max(u64::from_le_bytes(w));
        }
    }
    true
}
