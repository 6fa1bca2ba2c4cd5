//! `craters detect`: load the image (GeoTIFF, PGM, PNG, JPEG), place it, detect, and write
//! the catalogue (`craters.csv`, `craters.scc`, the shapefile pair), the size-frequency
//! distribution (`csfd.csv`, `csfd.png`), every hypothesis (`hypotheses.csv`), the overlay
//! and `metrics.json`.

use std::path::Path;

use craters_dataset::hrsc::read_catalogue;
use craters_dataset::{GeoImage, Georeference, OutputParams, PATCH_SIDE, write_atomic};
use craters_metrics::detection::Detection;

use crate::card::Detector;
use crate::catalogue::{CatalogueCrater, catalogue, craters_csv, scc};
use crate::config::{DetectConfig, ValidDetectConfig};
use crate::csfd::{CsfdBin, csfd, csfd_csv, csfd_png};
use crate::error::{Error, Result};
use crate::evaluate::{Evaluation, catalogue_circles, evaluate};
use crate::gis::write_shapefiles;
use crate::overlay::overlay;
use crate::placement::{CountedArea, Placement};
use crate::scan::{ScanProgress, TileDetections, detect_with_progress};

/// Largest image (pixels) that gets an `overlay.png`: 64 Mpx, an 8,192² mosaic.
pub const OVERLAY_MAX_PIXELS: usize = 1 << 26;

/// Ratio of the image's to the detector's ground sampling beyond which crater sizes are
/// rescaled (the pyramid then looks for the same sizes in metres).
pub const GSD_RESCALE_RATIO: f64 = 1.25;
/// Ratio beyond which an image is refused unless asked for ([`PlacementParams::any_gsd`]):
/// the detector has not seen craters drawn with so few or so many pixels.
pub const GSD_MAX_RATIO: f64 = 4.0;

/// A detections file (`hypotheses.csv`): header `x,y,r,score`, highest score first.
pub fn detections_csv(detections: &[Detection]) -> String {
    let mut csv = String::from("x,y,r,score\n");
    for d in detections {
        csv.push_str(&format!(
            "{:.2},{:.2},{:.2},{:.6}\n",
            d.circle.x, d.circle.y, d.circle.r, d.score
        ));
    }
    csv
}

/// How to place an image that has no georeferencing of its own, and how far its ground
/// sampling may be from the detector's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlacementParams {
    /// Metres per pixel of a plain image (PGM, PNG, a TIFF without geo tags).
    pub pixel_size_m: Option<f64>,
    /// Longitude and latitude (degrees) of the plain image's centre (needs the pixel size).
    pub centre_lonlat: Option<(f64, f64)>,
    /// Scan an image whose ground sampling is more than [`GSD_MAX_RATIO`] times off the
    /// detector's (rescaled all the same).
    pub any_gsd: bool,
}

impl PlacementParams {
    /// How `image` (read from `path`) is placed: its own georeference, else these settings.
    pub fn place(&self, path: &Path, image: &GeoImage) -> Result<Placement> {
        let bad = |message: String| Error::Placement {
            path: path.into(),
            message,
        };
        if let Some(size) = self.pixel_size_m
            && !(size.is_finite() && size > 0.0)
        {
            return Err(bad(format!(
                "--pixel-size {size}: expected a positive number of metres"
            )));
        }
        if let Some((lon, lat)) = self.centre_lonlat
            && !(lon.is_finite() && (-90.0..=90.0).contains(&lat))
        {
            return Err(bad(format!(
                "--lon {lon} --lat {lat}: expected a longitude and a latitude in −90…90°"
            )));
        }
        match (&image.georef, self.pixel_size_m, self.centre_lonlat) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(bad(
                "the image is georeferenced; --pixel-size, --lon and --lat are for plain images".into(),
            )),
            (Some(g), None, None) => Ok(Placement::Georeferenced(g.clone())),
            (None, None, Some(_)) => Err(bad("--lon and --lat need --pixel-size".into())),
            (None, None, None) => Ok(Placement::Pixels),
            (None, Some(size), None) => Ok(Placement::Scale {
                metres_per_pixel: size,
            }),
            (None, Some(size), Some((lon, lat))) => Ok(Placement::Georeferenced(Georeference::plain(
                image.tile.width(),
                image.tile.height(),
                size,
                lon,
                lat,
            ))),
        }
    }
}

/// Detections on a placed image, as `craters detect` makes them.
#[derive(Debug, Clone)]
pub struct PlacedDetections {
    /// The detections (after suppression), craters on nodata left out.
    pub detections: TileDetections,
    /// The settings they were made with: crater sizes rescaled to the detector's ground
    /// sampling.
    pub config: ValidDetectConfig,
    /// Factor the settings' crater diameters were scaled by (1 when they were not).
    pub size_factor: f64,
    /// What the user should know (one line each).
    pub notes: Vec<String>,
}

/// Detects craters on `image` placed by `place`, as `craters detect` does: crater sizes
/// rescaled when its ground sampling is more than [`GSD_RESCALE_RATIO`] × off the detector
/// card's (refused beyond [`GSD_MAX_RATIO`] unless `any_gsd`), craters on nodata dropped.
/// `name` names the image in errors.
pub fn detect_placed(
    detector: &Detector,
    image: &GeoImage,
    place: &Placement,
    any_gsd: bool,
    config: &ValidDetectConfig,
    progress: &dyn ScanProgress,
    name: &Path,
) -> Result<PlacedDetections> {
    let mut notes = Vec::new();
    let (w, h) = (image.tile.width() as f64, image.tile.height() as f64);
    let metres_per_pixel = place.metres_per_pixel((w - 1.0) / 2.0, (h - 1.0) / 2.0);
    // Crater sizes in the settings are the detector's pixels; an image sampled otherwise is
    // scanned for the same sizes in metres.
    let (config, size_factor) = match (metres_per_pixel, detector.card.as_ref()) {
        (Some(gsd), Some(card)) => {
            let ratio = gsd / card.ground_sampling_m;
            if !(1.0 / GSD_MAX_RATIO..=GSD_MAX_RATIO).contains(&ratio) && !any_gsd {
                return Err(Error::Placement {
                    path: name.into(),
                    message: format!(
                        "{gsd:.3} m/px is {ratio:.2} × the detector's {} m/px (more than {GSD_MAX_RATIO} × off); resample the image to {:.1}–{:.1} m/px (gdalwarp -tr) or pass --any-gsd",
                        card.ground_sampling_m,
                        card.ground_sampling_m / GSD_MAX_RATIO,
                        card.ground_sampling_m * GSD_MAX_RATIO
                    ),
                });
            }
            if !(1.0 / GSD_RESCALE_RATIO..=GSD_RESCALE_RATIO).contains(&ratio) {
                let factor = card.ground_sampling_m / gsd;
                let scaled = DetectConfig {
                    min_diameter: config.min_diameter * factor,
                    max_diameter: config.max_diameter * factor,
                    ..(**config).clone()
                }
                .check()?;
                notes.push(format!(
                    "{gsd:.3} m/px, the detector's {} m/px: crater diameters of {:.1}–{:.1} px looked for (the settings' {}–{} px × {factor:.3})",
                    card.ground_sampling_m, scaled.min_diameter, scaled.max_diameter, config.min_diameter, config.max_diameter
                ));
                (scaled, factor)
            } else {
                (config.clone(), 1.0)
            }
        }
        _ => (config.clone(), 1.0),
    };
    let mut detections = detect_with_progress(&detector.members, &image.tile, &config, progress)?;
    // Nodata is never part of a crater: the detector saw fill there.
    if image.valid.is_some() {
        detections
            .detections
            .retain(|d| image.disc_is_valid(d.circle.x, d.circle.y, d.circle.r));
    }
    Ok(PlacedDetections {
        detections,
        config,
        size_factor,
        notes,
    })
}

/// What [`run`] wrote and measured.
#[derive(Debug, Clone)]
pub struct DetectSummary {
    /// The detections (craters on nodata left out).
    pub detections: TileDetections,
    /// Their evaluation, with a catalogue.
    pub evaluation: Option<Evaluation>,
    /// Whether `overlay.png` was written (images up to [`OVERLAY_MAX_PIXELS`]).
    pub overlay: bool,
    /// The catalogue: the detections at the operating threshold (the rows of `craters.csv`).
    pub craters: Vec<CatalogueCrater>,
    /// Where the image lies.
    pub placement: Placement,
    /// The area craters were counted over.
    pub area: CountedArea,
    /// Ground metres per pixel at the image centre, when known.
    pub metres_per_pixel: Option<f64>,
    /// Factor the detection settings' crater diameters were scaled by to match the
    /// detector's ground sampling (1 when they were not).
    pub size_factor: f64,
    /// Files written, relative to the output folder.
    pub files: Vec<String>,
    /// What the user should know (one line each): how the image was read and placed.
    pub notes: Vec<String>,
}

/// `craters detect`: reads the image (and catalogue), places it, detects with `detector`,
/// and writes the catalogue files into the folder `out`, atomically; an existing folder only
/// with `force`, only one craters wrote, and never one holding an input. `progress` is told
/// how far the scan is.
pub fn run(
    detector: &Detector,
    image_path: &Path,
    catalogue_path: Option<&Path>,
    placement: &PlacementParams,
    out: OutputParams,
    config: &ValidDetectConfig,
    progress: &dyn ScanProgress,
) -> Result<DetectSummary> {
    let mut out = out.input(image_path);
    if !detector.shipped {
        out = out.input(&detector.source);
    }
    if let Some(catalogue) = catalogue_path {
        out = out.input(catalogue);
    }
    // Refused before the work, not after it.
    let out = out.check()?;
    if detector.model().config().input_size != PATCH_SIDE {
        return Err(Error::ModelInput {
            path: detector.source.clone(),
            input: detector.model().config().input_size,
        });
    }
    let image = GeoImage::load(image_path)?;
    let place = placement.place(image_path, &image)?;
    let catalogue_craters = catalogue_path.map(read_catalogue).transpose()?;
    let mut notes = image.notes.clone();
    let (w, h) = (image.tile.width() as f64, image.tile.height() as f64);
    let centre = ((w - 1.0) / 2.0, (h - 1.0) / 2.0);
    let metres_per_pixel = place.metres_per_pixel(centre.0, centre.1);
    if let Placement::Georeferenced(g) = &place {
        notes.push(format!(
            "placed by {}: {}",
            if image.georef.is_some() {
                "its geo tags"
            } else {
                "--pixel-size, --lon, --lat"
            },
            g.describe()
        ));
    }

    let placed = detect_placed(
        detector,
        &image,
        &place,
        placement.any_gsd,
        config,
        progress,
        image_path,
    )?;
    notes.extend(placed.notes);
    let (detections, config, size_factor) = (placed.detections, placed.config, placed.size_factor);
    let evaluation = catalogue_craters
        .as_ref()
        .map(|c| evaluate(&detections.detections, c, &config))
        .transpose()?;
    let scored = catalogue_craters
        .as_ref()
        .map(|c| catalogue_circles(c, &config).0);
    let operating: Vec<Detection> = detections
        .detections
        .iter()
        .filter(|d| d.score >= config.threshold)
        .copied()
        .collect();
    let craters = catalogue(&operating, &place);
    let area = CountedArea::of(&image, &place);
    // The CSFD: detections, and the catalogue's craters over the same area.
    let reliable_km = detector
        .card
        .as_ref()
        .map_or(0.0, |c| c.smallest_reliable_diameter_m / 1000.0);
    let diameters =
        |rows: &[CatalogueCrater]| -> Vec<f64> { rows.iter().filter_map(|c| c.diameter_km).collect() };
    let catalogue_csfd: Option<Vec<CsfdBin>> = match (&catalogue_craters, area.km2) {
        (Some(c), Some(a)) => {
            let truth: Vec<Detection> = c
                .iter()
                .filter(|k| image.is_valid(k.x.round() as i64, k.y.round() as i64))
                .map(|k| Detection::new(k.x, k.y, k.diameter / 2.0, 1.0))
                .collect();
            Some(csfd(&diameters(&catalogue(&truth, &place)), a, reliable_km))
        }
        _ => None,
    };

    let stem = image_path
        .file_stem()
        .map(|s| {
            s.to_string_lossy()
                .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "image".into());
    // The overlay is an RGB copy of the image: three times its memory. Beyond
    // OVERLAY_MAX_PIXELS it is left out, so a mosaic's scan stays within its bound.
    let overlay_written = image.tile.width() * image.tile.height() <= OVERLAY_MAX_PIXELS;
    let mut files = Vec::new();
    out.write_folder(|dir| -> Result<()> {
        // What a user gets are the craters at the operating threshold (and their CSFD, GIS
        // layer and craterstats count); every hypothesis the scan kept (down to min_score)
        // goes to a file of its own.
        write_catalogue_into(
            dir,
            out.path(),
            &stem,
            &craters,
            &area,
            &place,
            reliable_km,
            catalogue_csfd.as_deref(),
            &mut files,
        )?;
        let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
            write_atomic(&dir.join(name), bytes)?;
            files.push(name.to_string());
            Ok(())
        };
        write(
            "hypotheses.csv",
            detections_csv(&detections.detections).as_bytes(),
        )?;
        if overlay_written {
            let picture = overlay(
                &image.tile,
                &detections.detections,
                evaluation.as_ref().zip(scored.as_deref()),
                config.threshold,
            );
            let mut png = Vec::new();
            picture
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|e| Error::Encode {
                    path: out.path().join("overlay.png"),
                    message: e.to_string(),
                })?;
            write("overlay.png", &png)?;
        }
        files.push("metrics.json".into());
        let metrics = serde_json::json!({
            "model": &detector.source,
            "model_card": &detector.card,
            "image": image_path,
            "image_size": [image.tile.width(), image.tile.height()],
            "samples": image.samples,
            "nodata": image.nodata,
            "placement": &place,
            "metres_per_pixel": metres_per_pixel,
            "size_factor": size_factor,
            "counted_area": &area.km2,
            "counted_pixels": area.pixels,
            "notes": &notes,
            "catalogue": catalogue_path,
            "config": &*config,
            "pyramid_radii": config.radii(),
            "windows": detections.windows,
            "scan": detections.method,
            "pieces": detections.pieces,
            "seconds": detections.seconds,
            "threshold": config.threshold,
            "detections": operating.len(),
            "hypotheses": detections.detections.len(),
            "overlay": overlay_written,
            "files": &files,
            "evaluation": evaluation,
        });
        // A `serde_json::Value` always serialises (non-finite floats become null).
        let text = serde_json::to_string_pretty(&metrics).unwrap_or_default();
        write_atomic(&dir.join("metrics.json"), format!("{text}\n").as_bytes())?;
        Ok(())
    })?;
    Ok(DetectSummary {
        detections,
        evaluation,
        overlay: overlay_written,
        craters,
        placement: place,
        area,
        metres_per_pixel,
        size_factor,
        files,
        notes,
    })
}

/// Writes the catalogue files of a detection into the new folder `out`: `craters.csv`, and
/// with a placement `craters.scc`, the shapefile pair `<stem>_CRATER` / `<stem>_AREA` and
/// `csfd.csv` / `csfd.png` (`reliable_km`: the smallest diameter the detector finds
/// reliably). For detections made elsewhere, such as a mosaic scanned window by window.
/// Returns the files written.
pub fn write_catalogue_files(
    out: OutputParams,
    stem: &str,
    detections: &[Detection],
    area: &CountedArea,
    place: &Placement,
    reliable_km: f64,
) -> Result<Vec<String>> {
    let out = out.check()?;
    let craters = catalogue(detections, place);
    let mut files = Vec::new();
    out.write_folder(|dir| {
        write_catalogue_into(
            dir,
            out.path(),
            stem,
            &craters,
            area,
            place,
            reliable_km,
            None,
            &mut files,
        )
    })?;
    Ok(files)
}

/// `craters.csv`, `craters.scc`, `csfd.csv`, `csfd.png` and the shapefiles into `dir` (the
/// staged folder of `out_path`), their names added to `files`.
#[allow(clippy::too_many_arguments)]
fn write_catalogue_into(
    dir: &Path,
    out_path: &Path,
    stem: &str,
    craters: &[CatalogueCrater],
    area: &CountedArea,
    place: &Placement,
    reliable_km: f64,
    catalogue_csfd: Option<&[CsfdBin]>,
    files: &mut Vec<String>,
) -> Result<()> {
    let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
        write_atomic(&dir.join(name), bytes)?;
        files.push(name.to_string());
        Ok(())
    };
    write("craters.csv", craters_csv(craters).as_bytes())?;
    if let Some(text) = scc(craters, area, place) {
        write("craters.scc", text.as_bytes())?;
    }
    if let Some(a) = area.km2 {
        let diameters: Vec<f64> = craters.iter().filter_map(|c| c.diameter_km).collect();
        let bins = csfd(&diameters, a, reliable_km);
        let mut series: Vec<(&str, &[CsfdBin])> = vec![("detected", &bins)];
        if let Some(c) = catalogue_csfd {
            series.push(("catalogue", c));
        }
        write("csfd.csv", csfd_csv(&series).as_bytes())?;
        let png = csfd_png(&out_path.join("csfd.png"), &bins, catalogue_csfd, a, reliable_km)?;
        write("csfd.png", &png)?;
    }
    if write_shapefiles(dir, stem, craters, area, place)? {
        for part in ["CRATER", "AREA"] {
            for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
                files.push(format!("{stem}_{part}.{ext}"));
            }
        }
    }
    Ok(())
}
