//! The crater catalogue a detection run writes: `craters.csv` (pixels, longitude,
//! latitude, diameter in km, score) and the craterstats count `craters.scc`.

use craters_metrics::detection::Detection;

use crate::placement::{CountedArea, Placement};

/// One detected crater, placed on the planet where the image says where it lies.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CatalogueCrater {
    /// Centre column (pixel centres at integers).
    pub x_px: f64,
    /// Centre row.
    pub y_px: f64,
    /// Radius in pixels.
    pub r_px: f64,
    /// Longitude and latitude of the centre (degrees), with a georeference.
    pub lonlat: Option<(f64, f64)>,
    /// Diameter in km, with a ground sampling distance.
    pub diameter_km: Option<f64>,
    /// The detector's score.
    pub score: f64,
}

/// The catalogue rows of `detections` (highest score first, as given).
pub fn catalogue(detections: &[Detection], placement: &Placement) -> Vec<CatalogueCrater> {
    detections
        .iter()
        .map(|d| {
            let c = d.circle;
            CatalogueCrater {
                x_px: c.x,
                y_px: c.y,
                r_px: c.r,
                lonlat: placement.lonlat(c.x, c.y),
                diameter_km: placement
                    .metres_per_pixel(c.x, c.y)
                    .map(|m| 2.0 * c.r * m / 1000.0),
                score: d.score,
            }
        })
        .collect()
}

/// `craters.csv`: header `x_px,y_px,r_px,lon,lat,diameter_km,score`; longitude and
/// latitude empty without a georeference, the diameter empty without a pixel size.
pub fn craters_csv(craters: &[CatalogueCrater]) -> String {
    let mut csv = String::from("x_px,y_px,r_px,lon,lat,diameter_km,score\n");
    for c in craters {
        let (lon, lat) = c.lonlat.map_or((String::new(), String::new()), |(lon, lat)| {
            (format!("{lon:.8}"), format!("{lat:.8}"))
        });
        let diameter = c.diameter_km.map_or(String::new(), |d| format!("{d:.6}"));
        csv.push_str(&format!(
            "{:.2},{:.2},{:.2},{lon},{lat},{diameter},{:.6}\n",
            c.x_px, c.y_px, c.r_px, c.score
        ));
    }
    csv
}

/// A craterstats spatial crater count (`.scc`): the sphere, the counted area's outline
/// (longitude, latitude) and size, and each crater's diameter (km), fraction (1: craters
/// that touch nodata or the image border are not counted) and position. `None` without a
/// georeference or with an empty area.
pub fn scc(craters: &[CatalogueCrater], area: &CountedArea, placement: &Placement) -> Option<String> {
    let g = placement.georeference()?;
    let km2 = area.km2?;
    let outline: Vec<(f64, f64)> = area
        .outline_px
        .iter()
        .map(|&(x, y)| g.lonlat(x, y))
        .collect::<Option<_>>()?;
    if outline.is_empty() {
        return None;
    }
    let r_km = g.radius_m / 1000.0;
    let mut s = String::new();
    s.push_str("# Spatial crater count\n#\n# Written by craters (crater detection), one crater per detection at the operating threshold\n#\n");
    s.push_str("# Ellipsoid axes:\n");
    for axis in ["a", "b", "c"] {
        s.push_str(&format!("{axis}_axis_radius = {r_km} <km>\n"));
    }
    s.push_str("coordinate_system_name = Mars_2000_Sphere\n#\n# area_shapes:\n");
    s.push_str("unit_boundary = {vertex,sub_area,tag,lon,lat\n");
    s.push_str(&format!(
        "#\n# Area_name1 = image\n# Area_size1 = {km2:.6} <km^2>\n#\n"
    ));
    for (i, (lon, lat)) in outline.iter().enumerate() {
        s.push_str(&format!("{}\t1\text\t{lon:.10}\t{lat:.10}\n", i + 1));
    }
    s.push_str("}\n#\n");
    s.push_str(&format!("Total_area = {km2:.6} <km^2>\n#\n# crater_diameters:\n"));
    s.push_str("crater = {diam,fraction,lon,lat\n");
    for c in craters {
        if let (Some(d), Some((lon, lat))) = (c.diameter_km, c.lonlat) {
            s.push_str(&format!("{d:.6}\t1\t{lon:.10}\t{lat:.10}\n"));
        }
    }
    s.push_str("}\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use craters_dataset::Georeference;
    use craters_metrics::detection::Circle;

    fn detection(x: f64, y: f64, r: f64, score: f64) -> Detection {
        Detection {
            circle: Circle { x, y, r },
            score,
        }
    }

    #[test]
    fn rows_carry_what_the_placement_knows() {
        let found = [detection(10.0, 20.0, 8.0, 0.97)];
        let pixels = craters_csv(&catalogue(&found, &Placement::Pixels));
        assert_eq!(
            pixels,
            "x_px,y_px,r_px,lon,lat,diameter_km,score\n10.00,20.00,8.00,,,,0.970000\n"
        );
        let scaled = craters_csv(&catalogue(
            &found,
            &Placement::Scale {
                metres_per_pixel: 12.5,
            },
        ));
        assert!(
            scaled.ends_with("10.00,20.00,8.00,,,0.200000,0.970000\n"),
            "{scaled}"
        );
        let g = Georeference::plain(100, 100, 12.5, -48.0, 5.0);
        let placed = catalogue(&found, &Placement::Georeferenced(g.clone()));
        let (lon, lat) = placed[0].lonlat.unwrap();
        assert_eq!((lon, lat), g.lonlat(10.0, 20.0).unwrap());
        assert!((placed[0].diameter_km.unwrap() - 0.2).abs() < 1e-5);
    }
}
