//! A mosaic scanned window by window: the hypotheses a core rectangle of an image owns,
//! scored from a window of the image around it (one task each, on any number of machines),
//! and the window that core needs.

use std::ops::Range;

use craters_metrics::detection::Detection;
use craters_model::CraterCnn;

use crate::config::ValidDetectConfig;
use crate::error::{Error, Result};
use crate::level::ImageWindow;
use crate::scan::{NoProgress, Piece, Setup, pieces_of};
#[allow(unused_imports)] // named in the documentation
use crate::suppress::suppress_overlaps;

/// The crater hypotheses (before suppression) whose windows the rectangle `core` of a
/// `image_size` image owns, scored from `window`, a part of the image that must hold
/// [`core_source`]`(core)`. Cores that partition the image give, together, exactly the
/// hypotheses of a scan of the whole image; [`suppress_overlaps`] over their concatenation
/// gives its detections. This is how a mosaic is detected window by window (one task each,
/// on any number of machines); `members` are the detector's networks (one, or an ensemble
/// whose scores are averaged). Models that standardise the image as a whole
/// (`input_norm = "per_tile"`) need the whole image and are refused.
pub fn core_hypotheses(
    members: &[CraterCnn],
    window: &ImageWindow,
    image_size: (usize, usize),
    core: (Range<usize>, Range<usize>),
    config: &ValidDetectConfig,
) -> Result<Vec<Detection>> {
    let setup = Setup::new(members, None, config, image_size)?;
    let pieces = core_pieces(&core, image_size, config.piece)?;
    Ok(setup.scan(members, config, window, &pieces, &NoProgress)?.0)
}

/// The image columns and rows [`core_hypotheses`] reads for `core`: the window a task
/// must load (its core with a margin as wide as the largest window needs).
pub fn core_source(
    members: &[CraterCnn],
    config: &ValidDetectConfig,
    image_size: (usize, usize),
    core: (Range<usize>, Range<usize>),
) -> Result<(Range<usize>, Range<usize>)> {
    let setup = Setup::new(members, None, config, image_size)?;
    let pieces = core_pieces(&core, image_size, config.piece)?;
    // The union of the image rectangles every level of every piece reads.
    let mut union: Option<(Range<usize>, Range<usize>)> = None;
    for &(pc, pr) in &pieces {
        for plan in &setup.plans {
            let r = setup.region(plan, pc, pr);
            if r.is_empty() {
                continue;
            }
            let (lc, lr) = setup.request(plan, &r);
            let (c, rr) = plan.level.source_rect(lc, lr);
            union = Some(match union {
                None => (c, rr),
                Some((uc, ur)) => (
                    uc.start.min(c.start)..uc.end.max(c.end),
                    ur.start.min(rr.start)..ur.end.max(rr.end),
                ),
            });
        }
    }
    Ok(union.unwrap_or((0..0, 0..0)))
}

/// `core` checked against the image and cut into pieces.
fn core_pieces(
    core: &(Range<usize>, Range<usize>),
    (w, h): (usize, usize),
    piece: usize,
) -> Result<Vec<Piece>> {
    let (cols, rows) = core;
    if cols.start > cols.end || rows.start > rows.end || cols.end > w || rows.end > h {
        return Err(Error::CoreOffImage {
            core: format!("{cols:?} × {rows:?}"),
            width: w,
            height: h,
        });
    }
    Ok(pieces_of(cols.clone(), rows.clone(), piece))
}
