//! The GIS layer: a shapefile pair in the CraterTools convention that QGIS, ArcGIS and
//! craterstats open, `<name>_CRATER.shp` (each crater a circle on the sphere, with its
//! diameter, centre and score) and `<name>_AREA.shp` (the counted area), in geographic
//! coordinates on the image's sphere (`.prj`: GCS_Mars_2000_Sphere for Mars).

use std::path::Path;

use shapefile::dbase::{self, FieldValue, Record, TableWriterBuilder};
use shapefile::{Point, Polygon, PolygonRing, Writer};

use crate::catalogue::CatalogueCrater;
use crate::error::{Error, Result};
use crate::placement::{CountedArea, Placement};

/// Vertices of a crater's circle.
pub const CIRCLE_VERTICES: usize = 64;

/// Writes `<stem>_CRATER.{shp,shx,dbf,prj}` and `<stem>_AREA.{shp,shx,dbf,prj}` into `dir`.
/// Returns `false` (and writes nothing) without a georeference or a counted area.
pub fn write_shapefiles(
    dir: &Path,
    stem: &str,
    craters: &[CatalogueCrater],
    area: &CountedArea,
    placement: &Placement,
) -> Result<bool> {
    let Some(g) = placement.georeference() else {
        return Ok(false);
    };
    let (Some(km2), Some(outline)) = (
        area.km2,
        area.outline_px
            .iter()
            .map(|&(x, y)| g.lonlat(x, y).map(|(lon, lat)| Point::new(lon, lat)))
            .collect::<Option<Vec<Point>>>(),
    ) else {
        return Ok(false);
    };
    let shp_error = |path: &Path, e: &dyn std::fmt::Display| Error::Encode {
        path: path.into(),
        message: e.to_string(),
    };
    let name = |field: &str| -> dbase::FieldName {
        field
            .try_into()
            .expect("a dBase field name of ≤ 10 ASCII characters")
    };

    let crater_path = dir.join(format!("{stem}_CRATER.shp"));
    let table = TableWriterBuilder::new()
        .add_numeric_field(name("Diam_km"), 14, 6)
        .add_numeric_field(name("x_coord"), 18, 10)
        .add_numeric_field(name("y_coord"), 18, 10)
        .add_numeric_field(name("score"), 10, 6)
        .add_numeric_field(name("x_px"), 12, 2)
        .add_numeric_field(name("y_px"), 12, 2)
        .add_numeric_field(name("r_px"), 12, 2)
        .add_character_field(name("tag"), 16);
    let mut writer = Writer::from_path(&crater_path, table).map_err(|e| shp_error(&crater_path, &e))?;
    for c in craters {
        let (Some(d), Some(centre)) = (c.diameter_km, c.lonlat) else {
            continue;
        };
        let ring: Vec<Point> = (0..CIRCLE_VERTICES)
            .map(|i| {
                let bearing = std::f64::consts::TAU * i as f64 / CIRCLE_VERTICES as f64;
                let (lon, lat) = g.destination(centre, bearing, d * 500.0);
                Point::new(lon, lat)
            })
            .collect();
        let mut record = Record::default();
        for (field, value) in [
            ("Diam_km", d),
            ("x_coord", centre.0),
            ("y_coord", centre.1),
            ("score", c.score),
            ("x_px", c.x_px),
            ("y_px", c.y_px),
            ("r_px", c.r_px),
        ] {
            record.insert(field.into(), FieldValue::Numeric(Some(value)));
        }
        record.insert("tag".into(), FieldValue::Character(Some("standard".into())));
        writer
            .write_shape_and_record(&Polygon::new(PolygonRing::Outer(ring)), &record)
            .map_err(|e| shp_error(&crater_path, &e))?;
    }
    drop(writer);

    let area_path = dir.join(format!("{stem}_AREA.shp"));
    let table = TableWriterBuilder::new()
        .add_character_field(name("name"), 32)
        .add_numeric_field(name("Area_km2"), 18, 6);
    let mut writer = Writer::from_path(&area_path, table).map_err(|e| shp_error(&area_path, &e))?;
    let mut record = Record::default();
    record.insert("name".into(), FieldValue::Character(Some(stem.into())));
    record.insert("Area_km2".into(), FieldValue::Numeric(Some(km2)));
    writer
        .write_shape_and_record(&Polygon::new(PolygonRing::Outer(outline)), &record)
        .map_err(|e| shp_error(&area_path, &e))?;
    drop(writer);

    let wkt = g.geographic_wkt();
    for shp in [&crater_path, &area_path] {
        craters_dataset::write_atomic(&shp.with_extension("prj"), wkt.as_bytes())?;
        craters_dataset::write_atomic(&shp.with_extension("cpg"), b"UTF-8")?;
    }
    Ok(true)
}
