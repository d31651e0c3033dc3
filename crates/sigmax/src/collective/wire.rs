//! Numbers as bytes between processes (little-endian words), and the sum and maximum of
//! every process's words, taken in rank order: what the all-to-all backends share.

/// `v` as little-endian 8-byte words.
pub(super) fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(super) fn u64_bytes(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
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
