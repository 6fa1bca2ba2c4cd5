//! Model cards (`card.toml` beside a model's weights: what input the detector expects and
//! how far it can be trusted) and the shipped detector, `models/hrsc-detector`, compiled
//! into the library so that `craters detect` works without `--model`.

use std::path::Path;

use craters_model::CraterCnn;

use crate::config::{DetectConfig, ValidDetectConfig};
use crate::error::{Error, Result};

/// What a detector expects and promises, read from `card.toml` beside its weights.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Short name.
    pub name: String,
    /// What it was trained on, one line.
    pub trained_on: String,
    /// Ground sampling distance of its training images (metres per pixel): images far
    /// from it have their crater sizes rescaled, or are refused.
    pub ground_sampling_m: f64,
    /// The input it expects, one line.
    pub input: String,
    /// Smallest crater diameter it finds reliably (metres); smaller detections are marked
    /// in the CSFD, not counted silently.
    pub smallest_reliable_diameter_m: f64,
    /// Its operating threshold (score ≥ this is a crater), chosen on training data.
    pub threshold: f64,
    /// The `border_margin` it was chosen with (crater radii; detections whose centre lies
    /// closer to the image's border are dropped); none: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub border_margin: Option<f64>,
}

impl ModelCard {
    /// The card in `dir/card.toml`, `None` when there is none; a malformed one is an error.
    pub fn load(dir: &Path) -> Result<Option<ModelCard>> {
        let path = dir.join("card.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_toml(&path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// A card from TOML text (unknown keys are errors); `path` names it in errors.
    pub fn from_toml(path: &Path, text: &str) -> Result<ModelCard> {
        let card: ModelCard = crate::config::parse_toml(path, text)?;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(card.ground_sampling_m)
            || !positive(card.smallest_reliable_diameter_m)
            || !(0.0..=1.0).contains(&card.threshold)
            || card
                .border_margin
                .is_some_and(|m| !(0.0..=crate::config::MAX_BORDER_MARGIN).contains(&m))
        {
            return Err(Error::ConfigSyntax {
                path: path.into(),
                message:
                    "ground_sampling_m and smallest_reliable_diameter_m must be positive, threshold in [0, 1], border_margin in [0, 2]"
                        .into(),
            });
        }
        Ok(card)
    }
}

/// Folder of ensemble member `i` (from 1) inside a detector folder.
pub fn member_dir(dir: &Path, i: usize) -> std::path::PathBuf {
    dir.join(format!("member-{i}"))
}

/// Most ensemble members a detector folder may hold.
pub const MAX_MEMBERS: usize = 16;

/// A detector: its networks, its card when it has one, and where it came from.
#[derive(Debug)]
pub struct Detector {
    /// Its networks, one architecture: one, or an ensemble whose window scores are
    /// averaged ([`detect_with_progress`](crate::detect_with_progress)).
    pub members: Vec<CraterCnn>,
    /// Its card.
    pub card: Option<ModelCard>,
    /// Its folder (`models/hrsc-detector` for the shipped one), for messages and metrics.
    pub source: std::path::PathBuf,
    /// Whether it is the shipped detector compiled into the library.
    pub shipped: bool,
}

impl Detector {
    /// The shipped detector ([`SHIPPED_MODEL`]).
    pub fn shipped() -> Result<Detector> {
        let (members, card) = shipped_model()?;
        Ok(Detector {
            members,
            card: Some(card),
            source: SHIPPED_MODEL.into(),
            shipped: true,
        })
    }

    /// The detector in `dir`: one network (`config.json`, `model.safetensors`), or an
    /// ensemble of them in `member-1/`, `member-2/`, …; an optional `card.toml`.
    pub fn load(dir: &Path) -> Result<Detector> {
        let members = if dir.join(craters_model::CONFIG_FILE).exists() || !member_dir(dir, 1).is_dir() {
            vec![CraterCnn::load(dir)?]
        } else {
            let mut members = Vec::new();
            while member_dir(dir, members.len() + 1).is_dir() {
                if members.len() == MAX_MEMBERS {
                    return Err(Error::TooManyMembers {
                        path: dir.into(),
                        max: MAX_MEMBERS,
                    });
                }
                members.push(CraterCnn::load(&member_dir(dir, members.len() + 1))?);
            }
            members
        };
        crate::scan::check_members(&members)?;
        Ok(Detector {
            members,
            card: ModelCard::load(dir)?,
            source: dir.into(),
            shipped: false,
        })
    }

    /// The first network: the architecture and input every member shares.
    pub fn model(&self) -> &CraterCnn {
        &self.members[0]
    }

    /// Crater probability of each 48×48 patch: the members' mean.
    pub fn predict_proba(&self, data: &craters_dataset::Dataset) -> Result<Vec<f32>> {
        let mut each = self.members.iter().map(|m| Ok(m.predict_proba(data)?));
        crate::scan::mean_scores(&mut each)
    }

    /// The operating threshold: its card's, else the detection settings' default.
    pub fn threshold(&self) -> Option<f64> {
        self.card.as_ref().map(|c| c.threshold)
    }

    /// The settings a scan with this detector uses: `config` when one is given (a settings
    /// file decides everything, as it did when the card's figures were measured), else the
    /// defaults with the card's threshold and border margin; then `threshold` over either.
    pub fn settings(
        &self,
        config: Option<DetectConfig>,
        threshold: Option<f64>,
    ) -> Result<ValidDetectConfig> {
        let mut config = match (config, &self.card) {
            (Some(config), _) => config,
            (None, None) => DetectConfig::default(),
            (None, Some(card)) => DetectConfig {
                threshold: card.threshold,
                border_margin: card.border_margin.unwrap_or(0.0),
                ..DetectConfig::default()
            },
        };
        if let Some(threshold) = threshold {
            config.threshold = threshold;
        }
        config.check()
    }
}

/// Where the shipped detector's files live in the repository (for messages).
pub const SHIPPED_MODEL: &str = "models/hrsc-detector";

/// The shipped ensemble's files, member by member: `config.json`, `model.safetensors`.
const SHIPPED_MEMBERS: [(&[u8], &[u8]); 3] = [
    (
        include_bytes!("../../../models/hrsc-detector/member-1/config.json"),
        include_bytes!("../../../models/hrsc-detector/member-1/model.safetensors"),
    ),
    (
        include_bytes!("../../../models/hrsc-detector/member-2/config.json"),
        include_bytes!("../../../models/hrsc-detector/member-2/model.safetensors"),
    ),
    (
        include_bytes!("../../../models/hrsc-detector/member-3/config.json"),
        include_bytes!("../../../models/hrsc-detector/member-3/model.safetensors"),
    ),
];
const SHIPPED_CARD: &str = include_str!("../../../models/hrsc-detector/card.toml");

/// The shipped detector's networks and its card.
pub fn shipped_model() -> Result<(Vec<CraterCnn>, ModelCard)> {
    let dir = Path::new(SHIPPED_MODEL);
    let members = SHIPPED_MEMBERS
        .iter()
        .enumerate()
        .map(|(i, (config, weights))| CraterCnn::from_bytes(&member_dir(dir, i + 1), config, weights))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    crate::scan::check_members(&members)?;
    let card = ModelCard::from_toml(&dir.join("card.toml"), SHIPPED_CARD)?;
    Ok((members, card))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_detector_loads_with_its_card() {
        let (members, card) = shipped_model().unwrap();
        assert_eq!(members.len(), 3);
        assert_eq!(members[0].config().input_size, 48);
        assert_eq!(card.ground_sampling_m, 12.5);
        assert!(card.smallest_reliable_diameter_m >= 100.0);
    }

    #[test]
    fn a_bad_card_is_named() {
        let e = ModelCard::from_toml(Path::new("m/card.toml"), "name = 1").unwrap_err();
        assert!(e.to_string().starts_with("m/card.toml: "), "{e}");
        let text = SHIPPED_CARD.replace("ground_sampling_m = 12.5", "ground_sampling_m = -1");
        let e = ModelCard::from_toml(Path::new("m/card.toml"), &text).unwrap_err();
        assert!(e.to_string().contains("ground_sampling_m"), "{e}");
        let text = SHIPPED_CARD.replace("border_margin = 0.5", "border_margin = 3.0");
        let e = ModelCard::from_toml(Path::new("m/card.toml"), &text).unwrap_err();
        assert!(e.to_string().contains("border_margin in [0, 2]"), "{e}");
    }

    #[test]
    fn a_scan_without_settings_takes_the_cards_threshold_and_border_margin() {
        let mut detector = Detector::shipped().unwrap();
        let card = detector.card.clone().unwrap();
        let margin = |m: Option<f64>| ModelCard {
            border_margin: m,
            ..card.clone()
        };
        detector.card = Some(margin(Some(0.75)));
        let config = detector.settings(None, None).unwrap();
        assert_eq!((config.threshold, config.border_margin), (card.threshold, 0.75));
        detector.card = Some(margin(None));
        assert_eq!(detector.settings(None, None).unwrap().border_margin, 0.0);
        // A settings file decides everything, as without a card.
        let given = DetectConfig {
            threshold: 0.6,
            ..DetectConfig::default()
        };
        detector.card = Some(margin(Some(0.75)));
        let config = detector.settings(Some(given.clone()), None).unwrap();
        assert_eq!((config.threshold, config.border_margin), (0.6, 0.0));
        detector.card = None;
        assert_eq!(*detector.settings(None, None).unwrap(), DetectConfig::default());
        // The card written by toml and read back keeps the margin; without one, no key.
        let text = toml::to_string(&margin(Some(0.5))).unwrap();
        assert!(text.contains("border_margin = 0.5"), "{text}");
        assert_eq!(
            ModelCard::from_toml(Path::new("card.toml"), &text)
                .unwrap()
                .border_margin,
            Some(0.5)
        );
        assert!(!toml::to_string(&margin(None)).unwrap().contains("border_margin"));
    }
}
