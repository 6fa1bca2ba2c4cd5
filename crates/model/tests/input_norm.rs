//! Per-image contrast normalisation inside the network, saved with the model.

use craters_dataset::{Dataset, PATCH_PIXELS};
use craters_model::{CONFIG_FILE, CraterCnn, InputNorm, SeedCnnConfig};

fn patches() -> (Dataset, Dataset, Dataset) {
    // Four textured patches, and the same under another brightness and contrast.
    let pixels: Vec<f32> = (0..4 * PATCH_PIXELS)
        .map(|i| 0.4 + 0.3 * ((i as f32 * 0.37).sin() * (i as f32 * 0.011).cos()))
        .collect();
    let shifted: Vec<f32> = pixels.iter().map(|p| p + 0.2).collect();
    let dimmed: Vec<f32> = pixels.iter().map(|p| 0.9 * p + 0.05).collect();
    (
        Dataset::new("original", pixels, None).unwrap(),
        Dataset::new("shifted", shifted, None).unwrap(),
        Dataset::new("dimmed", dimmed, None).unwrap(),
    )
}

#[test]
fn per_image_normalisation_ignores_brightness_and_contrast_and_travels_with_the_model() {
    let (original, shifted, dimmed) = patches();
    let per_image = SeedCnnConfig {
        input_norm: InputNorm::PerImage,
        ..SeedCnnConfig::default()
    };
    let model = CraterCnn::new(&per_image, 5).unwrap();
    let a = model.predict_proba(&original).unwrap();
    // Brightness cancels exactly (up to rounding); contrast up to the 1e-3 added to the
    // standard deviation (0.67% of these patches' 0.15, 0.74% after × 0.9).
    for (x, y) in a.iter().zip(&model.predict_proba(&shifted).unwrap()) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
    let b = model.predict_proba(&dimmed).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
    // Without it the network sees the change (so the check above can fail).
    let raw = CraterCnn::new(&SeedCnnConfig::default(), 5).unwrap();
    let ra = raw.predict_proba(&original).unwrap();
    for changed in [&shifted, &dimmed] {
        let rb = raw.predict_proba(changed).unwrap();
        assert!(
            ra.iter().zip(&rb).any(|(x, y)| (x - y).abs() > 1e-3),
            "{ra:?} {rb:?}"
        );
    }
    // Saved in config.json and applied again after loading.
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let card = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
    assert!(card.contains("\"input_norm\": \"per_image\""), "{card}");
    let loaded = CraterCnn::load(dir.path()).unwrap();
    assert_eq!(loaded.config().input_norm, InputNorm::PerImage);
    assert_eq!(loaded.predict_proba(&dimmed).unwrap(), b);
    // A model card written before the option existed loads as raw input.
    let mut old: serde_json::Value = serde_json::from_str(&card).unwrap();
    old["network"]
        .as_object_mut()
        .unwrap()
        .remove("input_norm")
        .unwrap();
    std::fs::write(dir.path().join(CONFIG_FILE), old.to_string()).unwrap();
    assert_eq!(
        CraterCnn::load(dir.path()).unwrap().config().input_norm,
        InputNorm::Raw
    );
}
