//! The crater size-frequency distribution (CSFD) that surface ages are read from: the
//! cumulative number of craters at least `D` across per km², in √2-wide diameter bins,
//! with Poisson (√N) errors; as `csfd.csv` and the log-log picture `csfd.png`.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};

/// One √2-wide diameter bin of a CSFD.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CsfdBin {
    /// The bin's smallest diameter (km).
    pub d_min_km: f64,
    /// Its largest (km, exclusive): `√2 × d_min_km`.
    pub d_max_km: f64,
    /// Craters in the bin.
    pub n: usize,
    /// Craters at least `d_min_km` across.
    pub cumulative: usize,
    /// `cumulative` per km² of counted area.
    pub density_km2: f64,
    /// Its Poisson error, `√cumulative` per km².
    pub error_km2: f64,
    /// Whether `d_min_km` is at least the detector's smallest reliable diameter; smaller
    /// bins are kept, marked, and drawn hollow.
    pub reliable: bool,
}

/// The CSFD of `diameters_km` over `area_km2`: bins with edges at powers of √2 km (the
/// convention of crater-counting tools), from the smallest diameter's bin to the largest's.
pub fn csfd(diameters_km: &[f64], area_km2: f64, reliable_km: f64) -> Vec<CsfdBin> {
    let mut d: Vec<f64> = diameters_km
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d > 0.0)
        .collect();
    if d.is_empty() || area_km2.is_nan() || area_km2 <= 0.0 {
        return Vec::new();
    }
    d.sort_by(f64::total_cmp);
    let edge = |k: i32| 2f64.powf(f64::from(k) / 2.0);
    let first = (2.0 * d[0].log2()).floor() as i32;
    let last = (2.0 * d[d.len() - 1].log2()).floor() as i32;
    (first..=last)
        .map(|k| {
            let (lo, hi) = (edge(k), edge(k + 1));
            let n = d.iter().filter(|&&x| x >= lo && x < hi).count();
            let cumulative = d.iter().filter(|&&x| x >= lo).count();
            CsfdBin {
                d_min_km: lo,
                d_max_km: hi,
                n,
                cumulative,
                density_km2: cumulative as f64 / area_km2,
                error_km2: (cumulative as f64).sqrt() / area_km2,
                reliable: lo >= reliable_km * (1.0 - 1e-12),
            }
        })
        .collect()
}

/// `csfd.csv`: one row a bin and source (`detected`, and `catalogue` when one was given).
pub fn csfd_csv(series: &[(&str, &[CsfdBin])]) -> String {
    let mut csv =
        String::from("source,d_min_km,d_max_km,n,cumulative,cumulative_per_km2,error_per_km2,reliable\n");
    for (source, bins) in series {
        for b in *bins {
            csv.push_str(&format!(
                "{source},{:.6},{:.6},{},{},{:.8e},{:.8e},{}\n",
                b.d_min_km, b.d_max_km, b.n, b.cumulative, b.density_km2, b.error_km2, b.reliable
            ));
        }
    }
    csv
}

const SIZE: (u32, u32) = (800, 600);
const FONT: &str = "sans-serif";

fn register_font() {
    static FONT_ONCE: Once = Once::new();
    FONT_ONCE.call_once(|| {
        // The embedded DejaVu Sans: no system fonts needed.
        let registered = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        debug_assert!(registered.is_ok());
    });
}

/// `csfd.png` as PNG bytes: the cumulative densities against the diameter, log-log, with
/// Poisson error bars; the catalogue's beside the detections' when given; bins below
/// `reliable_km` hollow, over a grey band that says so. `path` names the file in errors.
pub fn csfd_png(
    path: &std::path::Path,
    detected: &[CsfdBin],
    catalogue: Option<&[CsfdBin]>,
    area_km2: f64,
    reliable_km: f64,
) -> Result<Vec<u8>> {
    register_font();
    let failed = |e: &dyn std::fmt::Display| Error::Encode {
        path: path.into(),
        message: e.to_string(),
    };
    let all: Vec<&CsfdBin> = detected.iter().chain(catalogue.unwrap_or(&[])).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (reliable_km.max(1e-3), reliable_km.max(1e-3), f64::MAX, 0.0f64);
    for b in &all {
        x0 = x0.min(b.d_min_km);
        x1 = x1.max(b.d_max_km);
        y0 = y0.min((b.density_km2 - b.error_km2).max(b.density_km2 / 10.0));
        y1 = y1.max(b.density_km2 + b.error_km2);
    }
    if all.is_empty() {
        (y0, y1) = (1e-3, 1.0);
    }
    let (x0, x1, y0, y1) = (x0 / 1.5, x1 * 1.5, y0 / 2.0, y1 * 2.0);
    let mut buffer = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Crater size-frequency distribution ({area_km2:.1} km²)"),
                (FONT, 22),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .x_desc("crater diameter D (km)")
            .y_desc("cumulative crater density N(≥D) (km⁻²)")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(|e| failed(&e))?;
        // Below the detector's smallest reliable diameter: a grey band, the bins hollow.
        if reliable_km > x0 {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (reliable_km.min(x1), y1)],
                    RGBColor(225, 225, 225).filled(),
                )))
                .map_err(|e| failed(&e))?
                .label(format!(
                    "below the detector's smallest reliable D ({reliable_km:.3} km)"
                ))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], RGBColor(225, 225, 225).filled())
                });
        }
        // The catalogue first (triangles), the detections over it (circles).
        let mut series: Vec<(&str, &[CsfdBin], RGBColor, bool)> = Vec::new();
        if let Some(c) = catalogue {
            series.push(("catalogue", c, RGBColor(30, 80, 200), false));
        }
        series.push(("detected", detected, RGBColor(200, 30, 30), true));
        for (label, bins, colour, circles) in series {
            let count = bins.first().map_or(0, |b| b.cumulative);
            chart
                .draw_series(bins.iter().map(|b| {
                    let low = (b.density_km2 - b.error_km2).max(y0);
                    ErrorBar::new_vertical(
                        b.d_min_km,
                        low,
                        b.density_km2,
                        b.density_km2 + b.error_km2,
                        colour.stroke_width(1),
                        6,
                    )
                }))
                .map_err(|e| failed(&e))?;
            let style = |reliable: bool| {
                if reliable {
                    colour.filled()
                } else {
                    colour.stroke_width(2)
                }
            };
            let drawn = if circles {
                chart.draw_series(
                    bins.iter()
                        .map(|b| Circle::new((b.d_min_km, b.density_km2), 5, style(b.reliable)).into_dyn()),
                )
            } else {
                chart.draw_series(bins.iter().map(|b| {
                    TriangleMarker::new((b.d_min_km, b.density_km2), 6, style(b.reliable)).into_dyn()
                }))
            };
            drawn
                .map_err(|e| failed(&e))?
                .label(format!("{label} ({count} craters)"))
                .legend(move |(x, y)| {
                    if circles {
                        Circle::new((x + 7, y), 5, colour.filled()).into_dyn()
                    } else {
                        TriangleMarker::new((x + 7, y), 6, colour.filled()).into_dyn()
                    }
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))?;
    }
    let picture = image::RgbImage::from_raw(SIZE.0, SIZE.1, buffer)
        .ok_or_else(|| failed(&"plot buffer of the wrong size"))?;
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| failed(&e))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_root_two_wide_and_cumulative() {
        // Diameters 0.3, 0.5, 0.5, 1.0, 2.9 km over 10 km².
        let bins = csfd(&[0.5, 0.3, 1.0, 2.9, 0.5], 10.0, 0.4);
        let edges: Vec<f64> = bins.iter().map(|b| b.d_min_km).collect();
        let expected = [-4, -3, -2, -1, 0, 1, 2, 3].map(|k: i32| 2f64.powf(f64::from(k) / 2.0));
        assert_eq!(edges.len(), expected.len());
        for (a, b) in edges.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{edges:?}");
        }
        let n: Vec<usize> = bins.iter().map(|b| b.n).collect();
        assert_eq!(n, [1, 0, 2, 0, 1, 0, 0, 1]);
        let cumulative: Vec<usize> = bins.iter().map(|b| b.cumulative).collect();
        assert_eq!(cumulative, [5, 4, 4, 2, 2, 1, 1, 1]);
        assert!((bins[0].density_km2 - 0.5).abs() < 1e-12);
        assert!((bins[0].error_km2 - 5f64.sqrt() / 10.0).abs() < 1e-12);
        // 0.25 and 0.354 km lie below the reliable 0.4 km; 0.5 km does not.
        let reliable: Vec<bool> = bins.iter().map(|b| b.reliable).collect();
        assert_eq!(reliable, [false, false, true, true, true, true, true, true]);
        assert!(csfd(&[], 10.0, 0.1).is_empty());
        assert!(csfd(&[1.0], 0.0, 0.1).is_empty());
    }

    #[test]
    fn the_picture_is_a_png() {
        let bins = csfd(&[0.3, 0.5, 1.0], 10.0, 0.4);
        let png = csfd_png(std::path::Path::new("csfd.png"), &bins, Some(&bins), 10.0, 0.4).unwrap();
        let picture = image::load_from_memory(&png).unwrap();
        assert_eq!((picture.width(), picture.height()), SIZE);
    }
}
