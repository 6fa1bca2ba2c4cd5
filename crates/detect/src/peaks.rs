//! The peaks of a level's score grid: crater hypotheses.

/// A local maximum of a level's score grid: a crater hypothesis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Grid column.
    pub i: usize,
    /// Grid row.
    pub j: usize,
    /// Its score.
    pub score: f64,
    /// Refined centre in level pixels: the score-weighted mean of the 3×3 neighbourhood's
    /// positions, neighbours under half the peak's score left out.
    pub x: f64,
    /// Refined centre row in level pixels.
    pub y: f64,
}

/// The local maxima of the row-major score grid over window centres `xs` × `ys` (level
/// pixels, `step` apart) that score at least `min_score`, in scan order. A grid point is a
/// maximum when no 3×3 neighbour scores higher; ties break towards the first in scan order,
/// so a plateau gives one peak.
pub fn find_peaks(scores: &[f32], xs: &[usize], ys: &[usize], step: usize, min_score: f64) -> Vec<Peak> {
    debug_assert_eq!(scores.len(), xs.len() * ys.len());
    let mut peaks = Vec::new();
    for (j, &y) in ys.iter().enumerate() {
        for (i, &x) in xs.iter().enumerate() {
            let score = scores[j * xs.len() + i];
            if f64::from(score) < min_score {
                continue;
            }
            let mut is_peak = true;
            let (mut sum, mut sx, mut sy) = (0.0, 0.0, 0.0);
            for dj in -1i64..=1 {
                for di in -1i64..=1 {
                    let (ni, nj) = (i as i64 + di, j as i64 + dj);
                    if ni < 0 || nj < 0 || ni >= xs.len() as i64 || nj >= ys.len() as i64 {
                        continue;
                    }
                    let s = scores[nj as usize * xs.len() + ni as usize];
                    if s > score || (s == score && (dj, di) < (0, 0)) {
                        is_peak = false;
                    }
                    let weight = (f64::from(s) - 0.5 * f64::from(score)).max(0.0);
                    sum += weight;
                    sx += weight * (x as f64 + di as f64 * step as f64);
                    sy += weight * (y as f64 + dj as f64 * step as f64);
                }
            }
            if is_peak {
                peaks.push(Peak {
                    i,
                    j,
                    score: f64::from(score),
                    x: sx / sum,
                    y: sy / sum,
                });
            }
        }
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Peaks of a grid whose centres are its indices times `step` = 1.
    fn peaks(scores: &[f32], cols: usize, min_score: f64) -> Vec<Peak> {
        let xs: Vec<usize> = (0..cols).collect();
        let ys: Vec<usize> = (0..scores.len() / cols).collect();
        find_peaks(scores, &xs, &ys, 1, min_score)
    }

    #[test]
    fn one_peak_per_maximum_and_none_below_the_minimum_score() {
        #[rustfmt::skip]
        let scores = [
            0.1, 0.2, 0.1, 0.0, 0.0,
            0.2, 0.9, 0.2, 0.0, 0.6,
            0.1, 0.2, 0.1, 0.0, 0.0,
        ];
        let found = peaks(&scores, 5, 0.5);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            (found[0].i, found[0].j, found[0].score),
            (1, 1, f64::from(0.9f32))
        );
        // Symmetric neighbours under half the score: the centre stays on the grid point.
        assert_eq!((found[0].x, found[0].y), (1.0, 1.0));
        // A maximum at the grid's edge counts; its missing neighbours are simply absent.
        assert_eq!((found[1].i, found[1].j, found[1].x, found[1].y), (4, 1, 4.0, 1.0));
        assert!(peaks(&scores, 5, 0.95).is_empty());
    }

    #[test]
    fn a_plateau_gives_one_peak_and_a_strong_neighbour_pulls_the_centre() {
        let plateau = [0.8f32, 0.8, 0.8, 0.8];
        let found = peaks(&plateau, 2, 0.5);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].i, found[0].j), (0, 0), "the first in scan order");
        // Row 0.9, 0.8 (weights 0.45 and 0.35) with step 10: x = (0·0.45 + 10·0.35) / 0.8.
        let xs = [0, 10];
        let found = find_peaks(&[0.9, 0.8], &xs, &[0], 10, 0.5);
        assert_eq!(found.len(), 1);
        let w0 = f64::from(0.9f32) - 0.5 * f64::from(0.9f32);
        let w1 = f64::from(0.8f32) - 0.5 * f64::from(0.9f32);
        assert!((found[0].x - 10.0 * w1 / (w0 + w1)).abs() < 1e-12, "{found:?}");
        assert_eq!(found[0].y, 0.0);
    }
}
