//! The labelling rule of the generated patches, defined once: the generator places craters
//! by it, the docs state it and the manifest records it.

/// Smallest radius (px) of the central crater of a positive patch.
pub const LABEL_MIN_RADIUS: f32 = 3.5;
/// Largest radius (px) of the central crater of a positive patch.
pub const LABEL_MAX_RADIUS: f32 = 16.0;
/// Largest offset (px) of a positive's crater centre from the patch centre, along each axis.
pub const LABEL_MAX_OFFSET: f32 = 10.0;
/// Craters in negatives near the centre stay below this radius (px).
pub const NEGATIVE_MAX_RADIUS: f32 = 2.0;
/// Larger craters in negatives lie at least this far (px) off-centre along some axis.
pub const NEGATIVE_MIN_OFFSET: f32 = 20.0;

/// The labelling rule in words, built from the constants above (the manifest records it).
pub fn labelling_rule() -> String {
    format!(
        "1 when a crater of radius >= {LABEL_MIN_RADIUS} px has its centre within {LABEL_MAX_OFFSET} px of the patch centre \
            along each axis; negatives hold no crater of radius >= {NEGATIVE_MAX_RADIUS} px centred within {NEGATIVE_MIN_OFFSET} px along each axis"
    )
}
