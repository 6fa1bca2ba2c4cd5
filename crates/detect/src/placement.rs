//! Where an image lies: nothing known (pixels only), a ground sampling distance (a plain
//! image with `--pixel-size`), or a full georeference; and the counted area that a crater
//! density is taken over.

use craters_dataset::{GeoImage, Georeference};

/// How much is known about where an image's pixels lie on the planet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Placement {
    /// Nothing: positions and sizes in pixels only.
    Pixels,
    /// The ground sampling distance of a plain image (diameters in km, no longitude or
    /// latitude).
    Scale {
        /// Metres per pixel.
        metres_per_pixel: f64,
    },
    /// A map projection: longitude, latitude and distances on the sphere.
    Georeferenced(Georeference),
}

impl Placement {
    /// Longitude and latitude (degrees) of the pixel position `(x, y)`, when known.
    pub fn lonlat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match self {
            Placement::Georeferenced(g) => g.lonlat(x, y),
            _ => None,
        }
    }

    /// Ground metres per pixel at `(x, y)`, when known.
    pub fn metres_per_pixel(&self, x: f64, y: f64) -> Option<f64> {
        match self {
            Placement::Pixels => None,
            Placement::Scale { metres_per_pixel } => Some(*metres_per_pixel),
            Placement::Georeferenced(g) => g.ground_sampling_m(x, y),
        }
    }

    /// Ground area (km²) of the pixel at `(x, y)`, when known.
    pub fn pixel_area_km2(&self, x: f64, y: f64) -> Option<f64> {
        match self {
            Placement::Pixels => None,
            Placement::Scale { metres_per_pixel } => Some((metres_per_pixel / 1000.0).powi(2)),
            Placement::Georeferenced(g) => g.pixel_area_km2(x, y),
        }
    }

    /// The georeference, when there is one.
    pub fn georeference(&self) -> Option<&Georeference> {
        match self {
            Placement::Georeferenced(g) => Some(g),
            _ => None,
        }
    }
}

/// The area craters were counted over: the pixels that hold data.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CountedArea {
    /// Pixels that hold data.
    pub pixels: usize,
    /// Their ground area (km²), when the placement gives one.
    pub km2: Option<f64>,
    /// The outline in pixel coordinates (a closed ring, clockwise on the map): per sampled
    /// row, from the first to the last pixel that holds data, so a nodata collar is left
    /// out; holes inside the data are left out of `km2` but not of the outline.
    pub outline_px: Vec<(f64, f64)>,
}

/// Rows (and columns) of the image sampled for the outline: at most this many a side.
const OUTLINE_SAMPLES: usize = 256;

impl CountedArea {
    /// The counted area of `image` placed by `placement`: the pixel areas summed row by row
    /// (a row's pixels taken at its middle, exact for north-up equirectangular, geographic
    /// and sinusoidal maps, whose pixel area changes with the row alone).
    pub fn of(image: &GeoImage, placement: &Placement) -> CountedArea {
        let w = image.tile.width();
        let spans: Vec<Option<(usize, usize, usize)>> = (0..image.tile.height())
            .map(|y| match &image.valid {
                None => Some((0, w - 1, w)),
                Some(valid) => {
                    let row = &valid[y * w..(y + 1) * w];
                    let first = row.iter().position(|&v| v)?;
                    let last = row.iter().rposition(|&v| v)?;
                    Some((first, last, row.iter().filter(|&&v| v).count()))
                }
            })
            .collect();
        Self::from_spans(&spans, w, placement)
    }

    /// The counted area of an image `width` pixels wide from its rows' spans of data: per
    /// row, the first and last column that hold data and how many do (`None`: none). A
    /// mosaic scanned window by window gathers these from its windows.
    pub fn from_spans(
        spans: &[Option<(usize, usize, usize)>],
        width: usize,
        placement: &Placement,
    ) -> CountedArea {
        let km2 = spans
            .iter()
            .enumerate()
            .filter_map(|(y, span)| span.map(|(_, _, n)| (y, n)))
            .map(|(y, n)| {
                placement
                    .pixel_area_km2((width as f64 - 1.0) / 2.0, y as f64)
                    .map(|a| a * n as f64)
            })
            .sum::<Option<f64>>();
        CountedArea {
            pixels: spans.iter().flatten().map(|s| s.2).sum(),
            km2,
            outline_px: outline(spans, width),
        }
    }
}

/// A clockwise ring (on a north-up map: y grows downwards) around the per-row spans.
fn outline(spans: &[Option<(usize, usize, usize)>], width: usize) -> Vec<(f64, f64)> {
    let rows: Vec<(usize, usize, usize)> = spans
        .iter()
        .enumerate()
        .filter_map(|(y, s)| s.map(|(a, b, _)| (y, a, b)))
        .collect();
    let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
        return Vec::new();
    };
    let step = rows.len().div_ceil(OUTLINE_SAMPLES).max(1);
    let mut sampled: Vec<(usize, usize, usize)> = rows.iter().copied().step_by(step).collect();
    if sampled.last() != Some(&last) {
        sampled.push(last);
    }
    let column_step = (width / OUTLINE_SAMPLES).max(1);
    let edge = |y: f64, from: usize, to: usize| -> Vec<(f64, f64)> {
        // Along a top or bottom edge, points every few columns, so that the ring follows
        // the projection's curves once mapped to longitude and latitude.
        let (a, b) = (from as f64 - 0.5, to as f64 + 0.5);
        let n = ((to + 1 - from) / column_step).max(1);
        (0..=n).map(|i| (a + (b - a) * i as f64 / n as f64, y)).collect()
    };
    let mut ring = Vec::new();
    // Top edge left to right, down the right side, bottom edge right to left, up the left.
    ring.extend(edge(first.0 as f64 - 0.5, first.1, first.2));
    ring.extend(sampled.iter().map(|&(y, _, b)| (b as f64 + 0.5, y as f64)));
    let mut bottom = edge(last.0 as f64 + 0.5, last.1, last.2);
    bottom.reverse();
    ring.extend(bottom);
    ring.extend(sampled.iter().rev().map(|&(y, a, _)| (a as f64 - 0.5, y as f64)));
    ring.push(ring[0]);
    ring
}

#[cfg(test)]
mod tests {
    use super::*;
    use craters_dataset::Tile;
    use image::GrayImage;

    fn image(w: u32, h: u32, valid: Option<Vec<bool>>) -> GeoImage {
        let n = valid
            .as_ref()
            .map_or((w * h) as usize, |v| v.iter().filter(|&&b| b).count());
        GeoImage {
            tile: Tile::from_image(GrayImage::new(w, h)),
            valid,
            valid_pixels: n,
            georef: None,
            samples: "uint8".into(),
            nodata: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_scaled_image_counts_its_valid_pixels() {
        // 10 × 4 pixels of 100 m, the left 3 columns nodata: 28 pixels of 0.01 km².
        let valid: Vec<bool> = (0..40).map(|i| i % 10 >= 3).collect();
        let area = CountedArea::of(
            &image(10, 4, Some(valid)),
            &Placement::Scale {
                metres_per_pixel: 100.0,
            },
        );
        assert_eq!(area.pixels, 28);
        assert!((area.km2.unwrap() - 0.28).abs() < 1e-12);
        // The outline starts at the collar's edge and closes.
        assert_eq!(area.outline_px.first(), Some(&(2.5, -0.5)));
        assert_eq!(area.outline_px.first(), area.outline_px.last());
        assert!(area.outline_px.iter().all(|&(x, _)| x >= 2.5));
        assert!(
            CountedArea::of(&image(3, 3, None), &Placement::Pixels)
                .km2
                .is_none()
        );
    }

    #[test]
    fn the_outline_is_clockwise_on_the_map() {
        let area = CountedArea::of(&image(5, 5, None), &Placement::Pixels);
        // Shoelace in (x, −y), map orientation: negative for clockwise.
        let ring = &area.outline_px;
        let twice: f64 = ring.windows(2).map(|p| p[0].0 * -p[1].1 - p[1].0 * -p[0].1).sum();
        assert!((twice / 2.0 + 25.0).abs() < 1e-9, "{twice}");
    }
}
