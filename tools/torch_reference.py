#!/usr/bin/env python3
"""Writes crates/model/tests/fixtures/torch_reference.json: PyTorch's outputs for the seed CNN.

The network is built exactly as ../shared/peer/torch_cnn.py builds it, in float64. Weights
and inputs come from closed-form formulas (below, mirrored in crates/model/tests/torch_reference.rs)
so the fixture needs to store only PyTorch's results:
  - logits of 4 images (eval mode: no dropout),
  - mean BCE-with-logits loss, and the loss with per-sample weights (mean of w * loss),
  - the gradient of the mean loss for every tensor,
  - every tensor after 3 Adam steps (lr 3e-4, betas 0.9/0.999, eps 1e-7) on that batch.
Tensors of up to 200 values are stored whole; larger ones as count, sum, sum of |x|,
L2 norm and 40 values at evenly spaced indices.

Run: python3 -m venv venv && venv/bin/pip install torch numpy
     venv/bin/python tools/torch_reference.py
"""
import json
import math
import os

import torch
from torch import nn

NAMES = {"0": "conv1", "3": "conv2", "7": "dense1", "10": "dense2"}
LABELS = [1.0, 0.0, 1.0, 1.0]
SAMPLE_WEIGHTS = [1.0, 0.5, 2.0, 1.5]
N_IMAGES = 4
LR, EPS, STEPS = 3e-4, 1e-7, 3


def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(3, 3),
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(1152, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1),
    ).double()


def weight_value(tensor_index, i, scale):
    return scale * math.sin(0.7 * i + 1.3 * tensor_index + 0.1)


def input_value(i):
    return 0.5 + 0.5 * math.sin(0.013 * i * i % 6.0 + 0.37 * i)


def named(model):
    out = {}
    for key, p in model.named_parameters():
        layer, kind = key.split(".")
        out[f"{NAMES[layer]}.{kind}"] = p
    return out


def summary(values):
    values = [float(v) for v in values.reshape(-1).tolist()]
    if len(values) <= 200:
        return {"values": values}
    step = len(values) / 40
    idx = [int(k * step) for k in range(40)]
    return {
        "count": len(values),
        "sum": math.fsum(values),
        "sum_abs": math.fsum(abs(v) for v in values),
        "l2": math.sqrt(math.fsum(v * v for v in values)),
        "samples": [[i, values[i]] for i in idx],
    }


def main():
    model = build_model()
    params = named(model)
    with torch.no_grad():
        # Sorted names, biases scaled like kernels so that they matter in the gradients.
        for k, name in enumerate(sorted(params)):
            p = params[name]
            fan = p.numel() if p.dim() == 1 else p[0].numel()
            scale = 1.0 / math.sqrt(fan)
            flat = torch.tensor([weight_value(k, i, scale) for i in range(p.numel())], dtype=torch.float64)
            p.copy_(flat.reshape(p.shape))
    x = torch.tensor([input_value(i) for i in range(N_IMAGES * 2304)], dtype=torch.float64)
    x = x.reshape(N_IMAGES, 1, 48, 48)
    y = torch.tensor(LABELS, dtype=torch.float64)
    w = torch.tensor(SAMPLE_WEIGHTS, dtype=torch.float64)

    model.eval()
    logits = model(x).squeeze(1)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
    weighted = nn.functional.binary_cross_entropy_with_logits(logits, y, weight=w)
    loss.backward()
    grads = {name: summary(p.grad) for name, p in sorted(params.items())}

    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=EPS)
    opt.zero_grad()
    for _ in range(STEPS):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(1), y).backward()
        opt.step()
    after = {name: summary(p.detach()) for name, p in sorted(params.items())}

    fixture = {
        "made_by": "tools/torch_reference.py with torch " + torch.__version__ + ", float64",
        "labels": LABELS,
        "sample_weights": SAMPLE_WEIGHTS,
        "logits": logits.tolist(),
        "loss": loss.item(),
        "weighted_loss": weighted.item(),
        "gradients": grads,
        "adam": {"learning_rate": LR, "epsilon": EPS, "steps": STEPS, "weights_after": after},
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "crates", "model", "tests", "fixtures", "torch_reference.json")
    with open(path + ".tmp", "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {path}: logits {logits.tolist()}, loss {loss.item()}")


if __name__ == "__main__":
    main()
