//! Which images each training step sees.

use craters_dataset::shuffle;
use rand_chacha::ChaCha8Rng;

/// Passes over a set in shuffled order, one batch at a time. Each pass is a fresh shuffle of
/// `0..n` (sorted first, so it depends on the RNG alone), and a batch never crosses a pass:
/// the last batch of a pass is the remainder. An epoch of ⌈n / batch⌉ batches that starts a
/// pass is exactly one shuffled pass, as the seed's training loop.
#[derive(Debug, Clone)]
pub(super) struct BatchCycle {
    order: Vec<usize>,
    next: usize,
}

impl BatchCycle {
    pub(super) fn new(n: usize) -> Self {
        BatchCycle {
            order: (0..n).collect(),
            next: n,
        }
    }

    /// Makes the next batch begin a fresh pass.
    pub(super) fn restart(&mut self) {
        self.next = self.order.len();
    }

    /// The next batch of at most `size` indices (never empty for a non-empty set).
    pub(super) fn batch(&mut self, size: usize, rng: &mut ChaCha8Rng) -> &[usize] {
        if self.next >= self.order.len() {
            self.order.sort_unstable();
            shuffle(&mut self.order, rng);
            self.next = 0;
        }
        let start = self.next;
        self.next = (start + size).min(self.order.len());
        &self.order[start..self.next]
    }
}

/// The pixels of `batch`'s images, one after another.
pub(super) fn gather(pixels: &[f32], per_image: usize, batch: &[usize], out: &mut Vec<f32>) {
    out.clear();
    for &i in batch {
        out.extend_from_slice(&pixels[i * per_image..(i + 1) * per_image]);
    }
}
