//! The georeferencing of a GeoTIFF (GeoTIFF 1.1, OGC 19-008r4): the tie point and pixel
//! scale or the model transformation, and the geo keys that say which projection and which
//! sphere the map coordinates are on.

use std::io::{Read, Seek};
use std::path::Path;

use tiff::decoder::Decoder;
use tiff::tags::Tag;

use crate::error::{Error, Result};
use crate::georef::{Georeference, MARS_RADIUS_M, Projection};

const GT_MODEL_TYPE: u16 = 1024;
const GT_RASTER_TYPE: u16 = 1025;
const GEOGRAPHIC_TYPE: u16 = 2048;
const GEOG_ANGULAR_UNITS: u16 = 2054;
const GEOG_SEMI_MAJOR_AXIS: u16 = 2057;
const PROJECTED_CS_TYPE: u16 = 3072;
const PROJ_COORD_TRANS: u16 = 3075;
const PROJ_LINEAR_UNITS: u16 = 3076;
const PROJ_STD_PARALLEL1: u16 = 3078;
const PROJ_NAT_ORIGIN_LONG: u16 = 3080;
const PROJ_NAT_ORIGIN_LAT: u16 = 3081;
const PROJ_FALSE_EASTING: u16 = 3082;
const PROJ_FALSE_NORTHING: u16 = 3083;
const PROJ_CENTER_LONG: u16 = 3088;
const PROJ_CENTER_LAT: u16 = 3089;

const USER_DEFINED: u16 = 32767;
const CT_EQUIRECTANGULAR: u16 = 17;
const CT_SINUSOIDAL: u16 = 24;

/// One geo key's value: a short, doubles, or text.
#[derive(Debug, Clone)]
enum KeyValue {
    Short(u16),
    Doubles(Vec<f64>),
    Text(String),
}

/// The geo keys of a GeoKeyDirectoryTag.
#[derive(Debug, Default)]
struct GeoKeys(Vec<(u16, KeyValue)>);

impl GeoKeys {
    fn short(&self, key: u16) -> Option<u16> {
        self.0.iter().find_map(|(k, v)| match v {
            KeyValue::Short(s) if *k == key => Some(*s),
            _ => None,
        })
    }

    fn double(&self, key: u16) -> Option<f64> {
        self.0.iter().find_map(|(k, v)| match v {
            KeyValue::Doubles(d) if *k == key => d.first().copied(),
            _ => None,
        })
    }

    fn text(&self) -> String {
        self.0
            .iter()
            .filter_map(|(_, v)| match v {
                KeyValue::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Reads the georeferencing tags; `None` (with a note) when the file has none. A
/// projection this crate cannot invert is an error naming it.
pub(crate) fn read_georeference<R: Read + Seek>(
    decoder: &mut Decoder<R>,
    path: &Path,
    notes: &mut Vec<String>,
) -> Result<Option<Georeference>> {
    let bad = |reason: String| Error::Georeference {
        path: path.into(),
        reason,
    };
    let doubles = |decoder: &mut Decoder<R>, tag: u16| -> Result<Option<Vec<f64>>> {
        match decoder.find_tag(Tag::Unknown(tag)) {
            Ok(Some(v)) => v
                .into_f64_vec()
                .map(Some)
                .map_err(|e| bad(format!("tag {tag}: {e}"))),
            Ok(None) => Ok(None),
            Err(e) => Err(bad(format!("tag {tag}: {e}"))),
        }
    };
    let scale = doubles(decoder, 33550)?;
    let tiepoints = doubles(decoder, 33922)?;
    let matrix = doubles(decoder, 34264)?;
    let directory = match decoder.find_tag(Tag::GeoKeyDirectoryTag) {
        Ok(Some(v)) => Some(
            v.into_u16_vec()
                .map_err(|e| bad(format!("GeoKeyDirectoryTag: {e}")))?,
        ),
        Ok(None) => None,
        Err(e) => return Err(bad(format!("GeoKeyDirectoryTag: {e}"))),
    };
    if directory.is_none() && matrix.is_none() && (scale.is_none() || tiepoints.is_none()) {
        notes.push(
            "no georeferencing tags: positions in pixels only (give --pixel-size for diameters in km)".into(),
        );
        return Ok(None);
    }
    let params = doubles(decoder, 34736)?.unwrap_or_default();
    let ascii = match decoder.find_tag(Tag::GeoAsciiParamsTag) {
        Ok(Some(v)) => v.into_string().unwrap_or_default(),
        _ => String::new(),
    };
    let keys = parse_keys(directory.as_deref().unwrap_or(&[]), &params, &ascii).map_err(bad)?;

    let mut transform = if let Some(m) = matrix {
        if m.len() < 16 {
            return Err(bad(format!(
                "ModelTransformationTag holds {} values; expected 16",
                m.len()
            )));
        }
        [m[3], m[0], m[1], m[7], m[4], m[5]]
    } else {
        let (Some(s), Some(t)) = (scale, tiepoints) else {
            notes.push("geo keys but no tie point or transformation: positions in pixels only".into());
            return Ok(None);
        };
        if s.len() < 2 || t.len() < 6 {
            return Err(bad("ModelPixelScaleTag or ModelTiepointTag too short".into()));
        }
        [t[3] - t[0] * s[0], s[0], 0.0, t[4] + t[1] * s[1], 0.0, -s[1]]
    };
    if transform.iter().any(|v| !v.is_finite())
        || transform[1] * transform[5] - transform[2] * transform[4] == 0.0
    {
        return Err(bad(
            "the pixel-to-map transform is degenerate (zero or non-finite scale)".into(),
        ));
    }
    // PixelIsPoint: the tie point is a pixel's centre, not its corner (as GDAL reads it).
    if keys.short(GT_RASTER_TYPE) == Some(2) {
        transform[0] -= 0.5 * (transform[1] + transform[2]);
        transform[3] -= 0.5 * (transform[4] + transform[5]);
    }

    // EPSG's geographic coordinate systems are the Earth's; a planetary one is user-defined.
    if let Some(code) = keys.short(GEOGRAPHIC_TYPE)
        && code != USER_DEFINED
    {
        return Err(bad(format!(
            "GeographicTypeGeoKey EPSG:{code} is an Earth datum; expected a user-defined Mars sphere (GeogSemiMajorAxisGeoKey 3396190)"
        )));
    }
    let radius_m = match keys.double(GEOG_SEMI_MAJOR_AXIS) {
        Some(a) if a.is_finite() && a > 0.0 => a,
        Some(a) => return Err(bad(format!("GeogSemiMajorAxisGeoKey {a} is not a radius"))),
        None => {
            notes.push(format!(
                "no sphere radius in the geo keys: the IAU 2015 Mars sphere ({MARS_RADIUS_M} m) assumed"
            ));
            MARS_RADIUS_M
        }
    };
    let model = keys.short(GT_MODEL_TYPE).unwrap_or(1);
    let projection = match model {
        2 => {
            if let Some(units) = keys.short(GEOG_ANGULAR_UNITS)
                && units != 9102
            {
                return Err(bad(format!(
                    "GeogAngularUnitsGeoKey {units}; expected degrees (9102)"
                )));
            }
            Projection::Geographic
        }
        1 => {
            if let Some(code) = keys.short(PROJECTED_CS_TYPE)
                && code != USER_DEFINED
            {
                return Err(bad(format!(
                    "ProjectedCSTypeGeoKey EPSG:{code} is a projection of the Earth; expected a user-defined equirectangular or sinusoidal Mars projection"
                )));
            }
            if let Some(units) = keys.short(PROJ_LINEAR_UNITS)
                && units != 9001
            {
                return Err(bad(format!(
                    "ProjLinearUnitsGeoKey {units}; expected metres (9001)"
                )));
            }
            let centre_lon = keys
                .double(PROJ_CENTER_LONG)
                .or(keys.double(PROJ_NAT_ORIGIN_LONG))
                .unwrap_or(0.0);
            match keys.short(PROJ_COORD_TRANS) {
                Some(CT_EQUIRECTANGULAR) => Projection::Equirectangular {
                    centre_lon,
                    origin_lat: keys
                        .double(PROJ_CENTER_LAT)
                        .or(keys.double(PROJ_NAT_ORIGIN_LAT))
                        .unwrap_or(0.0),
                    standard_parallel: keys.double(PROJ_STD_PARALLEL1).unwrap_or(0.0),
                },
                Some(CT_SINUSOIDAL) => Projection::Sinusoidal { centre_lon },
                Some(code) => {
                    return Err(bad(format!(
                        "unsupported projection {} (ProjCoordTransGeoKey {code}); expected equirectangular (17), sinusoidal (24) or a geographic grid: reproject it (gdalwarp) first",
                        transform_name(code)
                    )));
                }
                None => {
                    let citation = keys.text();
                    return Err(bad(format!(
                        "no ProjCoordTransGeoKey{}; expected equirectangular or sinusoidal",
                        if citation.is_empty() {
                            String::new()
                        } else {
                            format!(" (citation {citation:?})")
                        }
                    )));
                }
            }
        }
        other => {
            return Err(bad(format!(
                "GTModelTypeGeoKey {other}; expected projected (1) or geographic (2)"
            )));
        }
    };
    Ok(Some(Georeference {
        transform,
        projection,
        false_easting: keys.double(PROJ_FALSE_EASTING).unwrap_or(0.0),
        false_northing: keys.double(PROJ_FALSE_NORTHING).unwrap_or(0.0),
        radius_m,
    }))
}

/// The keys of a GeoKeyDirectoryTag: a header of four shorts, then four shorts a key (id,
/// where its value is, count, value or offset).
fn parse_keys(directory: &[u16], params: &[f64], ascii: &str) -> std::result::Result<GeoKeys, String> {
    if directory.is_empty() {
        return Ok(GeoKeys::default());
    }
    if directory.len() < 4 {
        return Err("GeoKeyDirectoryTag shorter than its header".into());
    }
    let n = usize::from(directory[3]);
    if directory.len() < 4 + 4 * n {
        return Err(format!(
            "GeoKeyDirectoryTag lists {n} keys but holds {} values",
            directory.len()
        ));
    }
    let mut keys = Vec::with_capacity(n);
    for entry in directory[4..4 + 4 * n].chunks_exact(4) {
        let (id, location, count, value) = (entry[0], entry[1], usize::from(entry[2]), usize::from(entry[3]));
        let v = match location {
            0 => KeyValue::Short(entry[3]),
            34736 => KeyValue::Doubles(
                params
                    .get(value..value + count)
                    .ok_or_else(|| format!("geo key {id} points past GeoDoubleParamsTag"))?
                    .to_vec(),
            ),
            34737 => KeyValue::Text(
                ascii
                    .get(value..(value + count).min(ascii.len()))
                    .unwrap_or("")
                    .trim_end_matches(['|', '\0'])
                    .to_string(),
            ),
            _ => continue,
        };
        keys.push((id, v));
    }
    Ok(GeoKeys(keys))
}

/// The GeoTIFF name of a coordinate transformation code.
fn transform_name(code: u16) -> &'static str {
    match code {
        1 => "transverse Mercator",
        7 => "Mercator",
        8 => "Lambert conformal conic (2 parallels)",
        9 => "Lambert conformal conic (1 parallel)",
        10 => "Lambert azimuthal equal-area",
        11 => "Albers equal-area",
        12 => "azimuthal equidistant",
        14 => "stereographic",
        15 => "polar stereographic",
        16 => "oblique stereographic",
        19 => "gnomonic",
        20 => "Miller cylindrical",
        21 => "orthographic",
        22 => "polyconic",
        23 => "Robinson",
        _ => "unknown",
    }
}
