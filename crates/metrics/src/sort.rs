//! Integer sort keys for finite scores, sorted with an LSD radix sort: linear time, which
//! keeps the curves over millions of scores cheap.

/// Maps a finite `f64` (with `-0.0` already turned into `0.0`) to a `u64` whose ascending
/// order is the floats' descending order; equal keys mean equal floats.
pub(crate) fn descending_key(x: f64) -> u64 {
    let bits = x.to_bits();
    let ascending = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    !ascending
}

/// The inverse of [`descending_key`].
pub(crate) fn from_descending_key(key: u64) -> f64 {
    let ascending = !key;
    let bits = if ascending >> 63 == 1 {
        ascending & !(1 << 63)
    } else {
        !ascending
    };
    f64::from_bits(bits)
}

const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;

/// Sorts keys in ascending order; `scratch` is working space, resized as needed.
pub(crate) fn radix_sort(keys: &mut Vec<u64>, scratch: &mut Vec<u64>) {
    scratch.resize(keys.len(), 0);
    let mask = (BUCKETS - 1) as u64;
    for shift in (0..64).step_by(DIGIT_BITS as usize) {
        let mut counts = vec![0usize; BUCKETS];
        for &k in keys.iter() {
            counts[((k >> shift) & mask) as usize] += 1;
        }
        // Scores from f32 or on a grid share many digits: a pass with one bucket is a no-op.
        if counts.contains(&keys.len()) {
            continue;
        }
        let mut total = 0;
        for count in counts.iter_mut() {
            let c = *count;
            *count = total;
            total += c;
        }
        for &k in keys.iter() {
            let digit = ((k >> shift) & mask) as usize;
            scratch[counts[digit]] = k;
            counts[digit] += 1;
        }
        std::mem::swap(keys, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_total_order_descending() {
        let values = [
            0.5,
            -1.0,
            3.25,
            0.0,
            -0.5,
            1e-300,
            -1e300,
            0.5,
            f64::MAX,
            f64::MIN,
            2.0,
        ];
        let mut keys: Vec<u64> = values.iter().map(|&v| descending_key(v)).collect();
        radix_sort(&mut keys, &mut Vec::new());
        let sorted: Vec<f64> = keys.into_iter().map(from_descending_key).collect();
        let mut expected = values.to_vec();
        expected.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(sorted, expected);
    }
}
