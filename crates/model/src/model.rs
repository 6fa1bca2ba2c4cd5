//! A trained (or trainable) network with its weights: build, predict, save, load.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use candle_core::{DType, Device, ModuleT, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use craters_dataset::{Dataset, PATCH_SIDE, write_atomic};

use crate::config::SeedCnnConfig;
use crate::error::{Error, Result};
use crate::network::{SeedCnn, keras_init};

/// File of a model folder holding the weights.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File of a model folder holding the [`ModelCard`] as JSON.
pub const CONFIG_FILE: &str = "config.json";
/// Images per forward pass when predicting.
pub const PREDICT_BATCH: usize = 256;

const CARD_FORMAT: u32 = 1;

/// What `config.json` of a model folder says: enough to rebuild the network.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Version of this layout; 1.
    pub format: u32,
    /// The network's shape.
    pub network: SeedCnnConfig,
}

/// The seed network together with its weights, on the CPU in f32.
///
/// A model folder (what [`CraterCnn::save`] writes and [`CraterCnn::load`] reads) holds
/// `model.safetensors` and `config.json`.
#[derive(Debug)]
pub struct CraterCnn {
    // Sorted by name: a VarMap's own order differs between processes.
    vars: Vec<(String, Var)>,
    net: SeedCnn,
}

impl CraterCnn {
    /// A fresh network initialised as Keras does from `seed`.
    pub fn new(config: &SeedCnnConfig, seed: u64) -> Result<Self> {
        let varmap = VarMap::new();
        let net = SeedCnn::new(
            config,
            VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
            seed,
        )?;
        keras_init(&varmap, seed)?;
        let data = varmap
            .data()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut vars: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(CraterCnn { vars, net })
    }

    /// Loads a model folder written by [`CraterCnn::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let card = read(&dir.join(CONFIG_FILE))?;
        let weights = read(&dir.join(WEIGHTS_FILE))?;
        Self::from_bytes(dir, &card, &weights)
    }

    /// A model from the bytes of its `config.json` and `model.safetensors`; `dir` names the
    /// folder they came from in errors. The tensors' shapes are checked against the card
    /// before anything is allocated for the network.
    pub fn from_bytes(dir: &Path, card: &[u8], weights: &[u8]) -> Result<Self> {
        let card_path = dir.join(CONFIG_FILE);
        let text = card;
        let card: ModelCard = serde_json::from_slice(text).map_err(|source| Error::ConfigFile {
            path: card_path.clone(),
            source,
        })?;
        if card.format != CARD_FORMAT {
            return Err(Error::Checkpoint {
                path: card_path,
                message: format!("format {}; this version reads format {CARD_FORMAT}", card.format),
            });
        }
        let in_card = |e: Error| match e {
            Error::InvalidConfig { .. } => Error::Checkpoint {
                path: card_path.clone(),
                message: e.to_string(),
            },
            other => other,
        };
        // The file's tensors are checked against the card's shapes before the network is
        // built: a card that claims a billion filters allocates nothing.
        let expected = card.network.parameter_shapes().map_err(in_card)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let (tensors, _) = parse_tensors(&weights_path, weights)?;
        for (name, dims) in &expected {
            let found = tensors.get(*name).map(|t| t.dims().to_vec());
            if found.as_ref() != Some(dims) {
                return Err(Error::Checkpoint {
                    path: weights_path,
                    message: match found {
                        Some(found) => format!(
                            "tensor {name} has shape {}; the config needs {}",
                            dims_text(&found),
                            dims_text(dims)
                        ),
                        None => format!("no tensor {name}; the network needs {}", dims_text(dims)),
                    },
                });
            }
            // NaN or infinite weights would give NaN scores that pass for predictions.
            let values = tensors[*name]
                .flatten_all()?
                .to_dtype(DType::F64)?
                .to_vec1::<f64>()?;
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::Checkpoint {
                    path: weights_path,
                    message: format!(
                        "tensor {name} holds {} at index {i}; weights must be finite",
                        values[i]
                    ),
                });
            }
        }
        let model = CraterCnn::new(&card.network, 0).map_err(in_card)?;
        model.set_weights(&tensors, "", &weights_path)?;
        Ok(model)
    }

    /// Writes `model.safetensors` and `config.json` into `dir` (created if needed), each
    /// through a temporary file renamed into place.
    pub fn save(&self, dir: &Path) -> Result<()> {
        save_model(dir, self.config(), &self.weights()?)
    }

    /// The network's shape.
    pub fn config(&self) -> &SeedCnnConfig {
        self.net.config()
    }

    /// The network itself, for forward passes of your own.
    pub fn net(&self) -> &SeedCnn {
        &self.net
    }

    /// Its variables sorted by name (`conv1.bias`, `conv1.weight`, …).
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        self.vars.clone()
    }

    /// A copy of every weight tensor, sorted by name.
    pub fn weights(&self) -> Result<Vec<(String, Tensor)>> {
        self.named_vars()
            .into_iter()
            .map(|(name, var)| Ok((name, var.as_tensor().copy()?)))
            .collect()
    }

    /// Sets every variable from `tensors[prefix + name]`, read from `source`; a missing,
    /// extra or mis-shaped tensor is an error naming it and `source`.
    pub fn set_weights(&self, tensors: &HashMap<String, Tensor>, prefix: &str, source: &Path) -> Result<()> {
        let mismatch = |message: String| Error::Checkpoint {
            path: source.into(),
            message,
        };
        let vars = self.named_vars();
        let mut unknown: Vec<&String> = tensors
            .keys()
            .filter(|k| {
                k.strip_prefix(prefix)
                    .is_some_and(|n| !vars.iter().any(|(v, _)| v == n))
            })
            .collect();
        unknown.sort();
        if let Some(name) = unknown.first() {
            return Err(mismatch(format!("tensor {name} is not part of this network")));
        }
        for (name, var) in &vars {
            let key = format!("{prefix}{name}");
            let tensor = tensors.get(&key).ok_or_else(|| {
                mismatch(format!(
                    "no tensor {key}; the network needs {}",
                    dims_text(var.dims())
                ))
            })?;
            if tensor.dims() != var.dims() {
                return Err(mismatch(format!(
                    "tensor {key} has shape {}; the config needs {}",
                    dims_text(tensor.dims()),
                    dims_text(var.dims())
                )));
            }
            var.set(&tensor.to_dtype(DType::F32)?)?;
        }
        Ok(())
    }

    /// Logits of `n` images given as `n × side²` pixels, in batches of [`PREDICT_BATCH`],
    /// without dropout.
    pub fn logits(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        let side = self.config().input_size;
        let per_image = side * side;
        if pixels.len() % per_image != 0 {
            return Err(Error::InvalidConfig {
                field: "input_size",
                value: side.to_string(),
                expected: format!(
                    "a size matching the images: {} pixels is not a whole number of {side}×{side} images",
                    pixels.len()
                ),
            });
        }
        let mut out = Vec::with_capacity(pixels.len() / per_image);
        for chunk in pixels.chunks(PREDICT_BATCH * per_image) {
            let n = chunk.len() / per_image;
            let xs = Tensor::from_slice(chunk, (n, 1, side, side), &Device::Cpu)?;
            out.extend(self.net.forward_t(&xs, false)?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// Crater probabilities of every image of `data`, in order.
    pub fn predict_proba(&self, data: &Dataset) -> Result<Vec<f32>> {
        self.check_input(data)?;
        Ok(self.logits(data.pixels())?.into_iter().map(sigmoid).collect())
    }

    /// Checks that `data`'s patches have the size this network takes.
    pub fn check_input(&self, data: &Dataset) -> Result<()> {
        let side = self.config().input_size;
        if side != PATCH_SIDE {
            return Err(Error::InvalidConfig {
                field: "input_size",
                value: side.to_string(),
                expected: format!(
                    "{PATCH_SIDE} to take the {PATCH_SIDE}×{PATCH_SIDE} patches of {}",
                    data.source().display()
                ),
            });
        }
        Ok(())
    }
}

/// The logistic function, as the network's output layer applies it.
pub fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit).exp())
}

pub(crate) fn save_model(dir: &Path, config: &SeedCnnConfig, weights: &[(String, Tensor)]) -> Result<()> {
    fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })?;
    write_tensors(&dir.join(WEIGHTS_FILE), weights, None)?;
    let card = ModelCard {
        format: CARD_FORMAT,
        network: *config,
    };
    let mut json = serde_json::to_string_pretty(&card).expect("a model card always serialises");
    json.push('\n');
    write_atomic(&dir.join(CONFIG_FILE), json.as_bytes())?;
    Ok(())
}

pub(crate) fn write_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes = safetensors::serialize(tensors.iter().map(|(name, t)| (name.as_str(), t)), metadata)
        .map_err(|e| Error::Checkpoint {
            path: path.into(),
            message: format!("cannot serialise: {e}"),
        })?;
    write_atomic(path, &bytes)?;
    Ok(())
}

pub(crate) fn read_tensors(path: &Path) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    parse_tensors(path, &read(path)?)
}

/// Tensors and metadata of the bytes of a safetensors file; `path` names it in errors.
fn parse_tensors(path: &Path, bytes: &[u8]) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bad = |message: String| Error::Checkpoint {
        path: path.into(),
        message,
    };
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
        .map_err(|e| bad(format!("unreadable tensors: {e}")))?;
    Ok((tensors, metadata.metadata().clone().unwrap_or_default()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile { path: path.into() }
        } else {
            Error::Io {
                path: path.into(),
                source,
            }
        }
    })
}

/// A tensor shape as `16 × 1 × 3 × 3`.
fn dims_text(dims: &[usize]) -> String {
    dims.iter().map(usize::to_string).collect::<Vec<_>>().join(" × ")
}
