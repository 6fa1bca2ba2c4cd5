//! Where an image's pixels lie on the planet: an affine pixel → map transform and a map
//! projection on a sphere, as map-projected planetary products (HRSC, CTX, THEMIS, HiRISE)
//! carry them in their GeoTIFF tags.
//!
//! Pixel coordinates follow the detector's convention: the centre of column `i` is at
//! `x = i` (the GeoTIFF transform, like GDAL's, maps pixel *corners*, so `i + 0.5` is what
//! it is given). Longitudes are east-positive in −180°…180°.

/// Mars's mean radius, the IAU 2015 sphere (metres).
pub const MARS_RADIUS_M: f64 = 3_396_190.0;

/// A map projection of a sphere; angles in degrees, map units in metres (degrees for
/// [`Projection::Geographic`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Projection {
    /// Longitude and latitude in degrees as map coordinates (a plate carrée in degrees).
    Geographic,
    /// Equirectangular (simple cylindrical): `x = R (λ − λ0) cos φ1`, `y = R (φ − φ0)`.
    Equirectangular {
        /// Central meridian λ0.
        centre_lon: f64,
        /// Latitude of origin φ0.
        origin_lat: f64,
        /// Standard parallel φ1, where the scale is true in both directions.
        standard_parallel: f64,
    },
    /// Sinusoidal (equal-area): `x = R (λ − λ0) cos φ`, `y = R φ`.
    Sinusoidal {
        /// Central meridian λ0.
        centre_lon: f64,
    },
}

/// Pixel → map → longitude/latitude for one image.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Georeference {
    /// GDAL's geotransform: map `X = t0 + t1 c + t2 r`, `Y = t3 + t4 c + t5 r` for the pixel
    /// corner coordinates `(c, r)`.
    pub transform: [f64; 6],
    /// The projection of the map coordinates.
    pub projection: Projection,
    /// Added to map x by the projection (metres).
    pub false_easting: f64,
    /// Added to map y by the projection (metres).
    pub false_northing: f64,
    /// The sphere's radius (metres).
    pub radius_m: f64,
}

impl Georeference {
    /// A plain image of `width × height` pixels of `pixel_size_m` metres on Mars whose centre
    /// lies at (`lon`, `lat`): equirectangular with its standard parallel through the centre,
    /// north up.
    pub fn plain(width: usize, height: usize, pixel_size_m: f64, lon: f64, lat: f64) -> Self {
        let radius_m = MARS_RADIUS_M;
        let half_w = width as f64 / 2.0 * pixel_size_m;
        let half_h = height as f64 / 2.0 * pixel_size_m;
        Georeference {
            transform: [-half_w, pixel_size_m, 0.0, half_h, 0.0, -pixel_size_m],
            projection: Projection::Equirectangular {
                centre_lon: lon,
                origin_lat: lat,
                standard_parallel: lat,
            },
            false_easting: 0.0,
            false_northing: 0.0,
            radius_m,
        }
    }

    /// Map coordinates of the pixel position `(x, y)` (centre of column `i` at `x = i`).
    pub fn pixel_to_map(&self, x: f64, y: f64) -> (f64, f64) {
        let t = &self.transform;
        let (c, r) = (x + 0.5, y + 0.5);
        (t[0] + t[1] * c + t[2] * r, t[3] + t[4] * c + t[5] * r)
    }

    /// Longitude and latitude (degrees) of map coordinates, `None` outside the projection's
    /// domain (beyond a pole, or beyond ±180° from the central meridian).
    pub fn map_to_lonlat(&self, mx: f64, my: f64) -> Option<(f64, f64)> {
        let r = self.radius_m;
        let (ex, ny) = (mx - self.false_easting, my - self.false_northing);
        let (lon, lat) = match self.projection {
            Projection::Geographic => (mx, my),
            Projection::Equirectangular {
                centre_lon,
                origin_lat,
                standard_parallel,
            } => {
                let lat = origin_lat + (ny / r).to_degrees();
                let lon = centre_lon + (ex / (r * standard_parallel.to_radians().cos())).to_degrees();
                (lon, lat)
            }
            Projection::Sinusoidal { centre_lon } => {
                let lat = (ny / r).to_degrees();
                let cos = lat.to_radians().cos();
                if cos <= 1e-12 {
                    return None;
                }
                let offset = (ex / (r * cos)).to_degrees();
                if offset.abs() > 180.0 {
                    return None;
                }
                (centre_lon + offset, lat)
            }
        };
        if !(lat.abs() <= 90.0 && lon.is_finite()) {
            return None;
        }
        Some((normalise_lon(lon), lat))
    }

    /// Longitude and latitude (degrees) of the pixel position `(x, y)`.
    pub fn lonlat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (mx, my) = self.pixel_to_map(x, y);
        self.map_to_lonlat(mx, my)
    }

    /// Ground metres per pixel at `(x, y)` along the rows and along the columns: great-circle
    /// lengths of one pixel step, so the same for every projection.
    pub fn ground_steps_m(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let along_row = self.distance_m(self.lonlat(x - 0.5, y)?, self.lonlat(x + 0.5, y)?);
        let along_column = self.distance_m(self.lonlat(x, y - 0.5)?, self.lonlat(x, y + 0.5)?);
        Some((along_row, along_column))
    }

    /// Ground sampling distance at `(x, y)`: the geometric mean of [`Self::ground_steps_m`]
    /// (metres per pixel), the scale a crater's pixel diameter is converted with.
    pub fn ground_sampling_m(&self, x: f64, y: f64) -> Option<f64> {
        self.ground_steps_m(x, y).map(|(a, b)| (a * b).sqrt())
    }

    /// Ground area of the pixel at `(x, y)` in km²: the spherical area element
    /// `R² cos φ |∂(λ, φ)/∂(x, y)|`, from central differences (exact for the affine,
    /// cylindrical and sinusoidal maps here up to rounding).
    pub fn pixel_area_km2(&self, x: f64, y: f64) -> Option<f64> {
        let (l1, p1) = self.lonlat(x - 0.5, y)?;
        let (l2, p2) = self.lonlat(x + 0.5, y)?;
        let (l3, p3) = self.lonlat(x, y - 0.5)?;
        let (l4, p4) = self.lonlat(x, y + 0.5)?;
        let (_, lat) = self.lonlat(x, y)?;
        let dlon_dx = wrap_degrees(l2 - l1).to_radians();
        let dlat_dx = (p2 - p1).to_radians();
        let dlon_dy = wrap_degrees(l4 - l3).to_radians();
        let dlat_dy = (p4 - p3).to_radians();
        let jacobian = (dlon_dx * dlat_dy - dlon_dy * dlat_dx).abs();
        let r_km = self.radius_m / 1000.0;
        Some(r_km * r_km * lat.to_radians().cos() * jacobian)
    }

    /// Great-circle distance in metres between two (lon, lat) points (haversine).
    pub fn distance_m(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        let (l1, p1) = (a.0.to_radians(), a.1.to_radians());
        let (l2, p2) = (b.0.to_radians(), b.1.to_radians());
        let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * ((l2 - l1) / 2.0).sin().powi(2);
        2.0 * self.radius_m * h.sqrt().min(1.0).asin()
    }

    /// The point at `distance_m` from `(lon, lat)` towards `bearing` (radians, clockwise
    /// from north) on the sphere: the vertices of a crater's rim as a GIS circle.
    pub fn destination(&self, (lon, lat): (f64, f64), bearing: f64, distance_m: f64) -> (f64, f64) {
        let delta = distance_m / self.radius_m;
        let (l1, p1) = (lon.to_radians(), lat.to_radians());
        let p2 = (p1.sin() * delta.cos() + p1.cos() * delta.sin() * bearing.cos()).asin();
        let l2 = l1 + (bearing.sin() * delta.sin() * p1.cos()).atan2(delta.cos() - p1.sin() * p2.sin());
        (normalise_lon(l2.to_degrees()), p2.to_degrees())
    }

    /// One line for people: the projection, the sphere and the pixel size.
    pub fn describe(&self) -> String {
        let projection = match self.projection {
            Projection::Geographic => "geographic (degrees)".to_string(),
            Projection::Equirectangular {
                centre_lon,
                standard_parallel,
                ..
            } => format!(
                "equirectangular (standard parallel {standard_parallel}°, central meridian {centre_lon}°)"
            ),
            Projection::Sinusoidal { centre_lon } => {
                format!("sinusoidal (central meridian {centre_lon}°)")
            }
        };
        format!("{projection} on a sphere of radius {} m", self.radius_m)
    }

    /// The geographic coordinate system of this sphere as ESRI WKT (a shapefile's `.prj`):
    /// "GCS_Mars_2000_Sphere" for the IAU 2015 Mars radius, which QGIS and craterstats
    /// read as Mars.
    pub fn geographic_wkt(&self) -> String {
        let (gcs, datum, spheroid) = if (self.radius_m - MARS_RADIUS_M).abs() < 0.5 {
            (
                "GCS_Mars_2000_Sphere",
                "D_Mars_2000_Sphere",
                "Mars_2000_Sphere_IAU_IAG",
            )
        } else {
            ("GCS_Sphere", "D_Sphere", "Sphere")
        };
        format!(
            "GEOGCS[\"{gcs}\",DATUM[\"{datum}\",SPHEROID[\"{spheroid}\",{},0.0]],PRIMEM[\"Reference_Meridian\",0.0],UNIT[\"Degree\",0.0174532925199433]]",
            self.radius_m
        )
    }
}

/// A longitude in −180°…180°.
pub fn normalise_lon(lon: f64) -> f64 {
    let l = (lon + 180.0).rem_euclid(360.0) - 180.0;
    if l == -180.0 && lon > 0.0 { 180.0 } else { l }
}

/// A longitude difference in −180°…180°.
fn wrap_degrees(d: f64) -> f64 {
    (d + 180.0).rem_euclid(360.0) - 180.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equirect(standard_parallel: f64) -> Georeference {
        Georeference {
            transform: [1000.0, 12.5, 0.0, 300_000.0, 0.0, -12.5],
            projection: Projection::Equirectangular {
                centre_lon: -48.0,
                origin_lat: 0.0,
                standard_parallel,
            },
            false_easting: 0.0,
            false_northing: 0.0,
            radius_m: MARS_RADIUS_M,
        }
    }

    #[test]
    fn equirectangular_inverts_the_forward_formulas() {
        let g = equirect(5.0);
        let (lon, lat) = g.lonlat(99.5, 199.5).unwrap();
        // Corner coordinates (100, 200): X = 1000 + 1250, Y = 300000 − 2500.
        let (x, y) = (2250.0, 297_500.0);
        let lat_rad = y / MARS_RADIUS_M;
        let lon_rad = x / (MARS_RADIUS_M * 5f64.to_radians().cos());
        assert!((lat - lat_rad.to_degrees()).abs() < 1e-12);
        assert!((lon - (-48.0 + lon_rad.to_degrees())).abs() < 1e-12);
    }

    #[test]
    fn ground_steps_are_true_at_the_standard_parallel_and_stretched_away_from_it() {
        // Standard parallel at the image's latitude (≈ 5°): 12.5 m both ways.
        let at = equirect(5.0);
        let y = (300_000.0 - 5f64.to_radians() * MARS_RADIUS_M) / 12.5;
        let (row, col) = at.ground_steps_m(0.0, y).unwrap();
        assert!(
            (row - 12.5).abs() < 1e-3 && (col - 12.5).abs() < 1e-3,
            "{row} {col}"
        );
        // Standard parallel at the equator: a pixel row spans 12.5 cos 5° m of ground.
        let off = equirect(0.0);
        let (row, _) = off.ground_steps_m(0.0, y).unwrap();
        assert!((row - 12.5 * 5f64.to_radians().cos()).abs() < 1e-3, "{row}");
        let area = off.pixel_area_km2(0.0, y).unwrap();
        assert!((area - row * 12.5 / 1e6).abs() < 1e-9, "{area}");
    }

    #[test]
    fn sinusoidal_pixels_keep_their_area_everywhere() {
        let g = Georeference {
            transform: [-50_000.0, 100.0, 0.0, 2_000_000.0, 0.0, -100.0],
            projection: Projection::Sinusoidal { centre_lon: 10.0 },
            false_easting: 0.0,
            false_northing: 0.0,
            radius_m: MARS_RADIUS_M,
        };
        for (x, y) in [(0.0, 0.0), (900.0, 10.0), (400.0, 5000.0)] {
            let area = g.pixel_area_km2(x, y).unwrap();
            assert!((area - 0.01).abs() < 1e-7, "{area} at {x},{y}");
        }
        // Beyond the antimeridian of the central meridian: no longitude.
        assert!(g.map_to_lonlat(MARS_RADIUS_M * 3.2, 0.0).is_none());
    }

    #[test]
    fn a_plain_image_is_centred_on_its_reference_point() {
        let g = Georeference::plain(1700, 1700, 12.5, 312.0, 5.0);
        let (lon, lat) = g.lonlat(849.5, 849.5).unwrap();
        assert!(
            (lon - -48.0).abs() < 1e-9 && (lat - 5.0).abs() < 1e-9,
            "{lon} {lat}"
        );
        let gsd = g.ground_sampling_m(849.5, 849.5).unwrap();
        assert!((gsd - 12.5).abs() < 1e-3, "{gsd}");
    }

    #[test]
    fn a_destination_lies_at_its_distance() {
        let g = Georeference::plain(10, 10, 1.0, 0.0, 40.0);
        let start = (20.0, 40.0);
        for bearing in [0.0, 1.0, 2.5, 4.0] {
            let end = g.destination(start, bearing, 1234.5);
            assert!((g.distance_m(start, end) - 1234.5).abs() < 1e-6);
        }
    }
}
