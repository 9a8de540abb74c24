"""Train the stem network on rows from :mod:`mixai.training.stems.dataset` and export it to ONNX.

A small MLP: inputs standardised inside the network (train-set mean and spread baked into the
graph) -> 2 x 128 GELU -> sigmoid outputs in [0, 1] (:data:`mixai.stems.STEM_OUTPUTS`). Loss:
mean absolute error per output, the relative-loudness output weighted x6 (it sets the balance). Adam,
full-batch-ish minibatches, cosine schedule, seeded; the epoch with the best validation
relative-loudness error is kept.

Usage::

    python -m mixai.training.stems.train --train data/stems/train.npz --val data/stems/val.npz \\
        --out models/mixai-stems.onnx --epochs 400 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LEVEL_WEIGHT = 6.0
HIDDEN = 128


def build_model(mean: np.ndarray, std: np.ndarray, n_out: int):
    import torch
    from torch import nn

    class StemNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
            self.body = nn.Sequential(nn.Linear(mean.size, HIDDEN), nn.GELU(), nn.Dropout(0.1),
                                      nn.Linear(HIDDEN, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, n_out))

        def forward(self, x):
            return torch.sigmoid(self.body((x - self.mean) / self.std))

    return StemNet()


def level_error_db(pred_unit: np.ndarray, true_unit: np.ndarray, pieces: np.ndarray) -> float:
    """Median |error| of the relative loudness, after removing each song's mean error (a shift of
    every stem of a song by the same dB changes nothing in the mix)."""
    from mixai.stems import STEM_OUTPUTS

    spec = STEM_OUTPUTS[0]
    span = spec.high - spec.low
    err = (pred_unit[:, 0] - true_unit[:, 0]) * span
    out = np.empty_like(err)
    for p in np.unique(pieces):
        sel = pieces == p
        out[sel] = err[sel] - err[sel].mean()
    return float(np.median(np.abs(out)))


def train(train_path: str, val_path: str, out: str, *, epochs: int = 400, seed: int = 0,
          lr: float = 2e-3, batch: int = 256) -> dict:
    import torch
    from tqdm import tqdm

    from mixai.stems import STEM_OUTPUTS
    from mixai.training.export import export_stem_model

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(2)
    tr, va = np.load(train_path), np.load(val_path)
    xt, yt = tr["x"].astype(np.float32), tr["y"].astype(np.float32)
    xv, yv = va["x"].astype(np.float32), va["y"].astype(np.float32)
    mean = xt.mean(axis=0)
    std = np.maximum(xt.std(axis=0), 1e-3)
    model = build_model(mean, std, len(STEM_OUTPUTS))
    weights = torch.ones(len(STEM_OUTPUTS))
    weights[0] = LEVEL_WEIGHT
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    Xt, Yt, Xv = torch.tensor(xt), torch.tensor(yt), torch.tensor(xv)
    gen = torch.Generator().manual_seed(seed)
    best = (float("inf"), None, -1)
    t0 = time.time()
    bar = tqdm(range(epochs), desc="stem model")
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), batch):
            idx = perm[i:i + batch]
            loss = ((model(Xt[idx]) - Yt[idx]).abs() * weights).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 5 == 4 or epoch == epochs - 1:
            model.eval()
            with torch.no_grad():
                pv = model(Xv).numpy()
            err = level_error_db(pv, yv, va["piece"])
            if err < best[0]:
                best = (err, {k: v.clone() for k, v in model.state_dict().items()}, epoch)
            bar.set_postfix(loss=float(loss.detach()), val_level_db=round(err, 3))
    model.load_state_dict(best[1])
    model.eval()
    with torch.no_grad():
        pv = model(Xv).numpy()
    mae = np.abs(pv - yv).mean(axis=0)
    info = {"seed": seed, "epochs": epochs, "best_epoch": best[2], "train_rows": len(xt), "val_rows": len(xv),
            "val_level_median_abs_db": round(best[0], 3), "train_seconds": round(time.time() - t0, 1),
            "val_unit_mae": {s.name: round(float(m), 4) for s, m in zip(STEM_OUTPUTS, mae)}}
    export_stem_model(model, out, xt.shape[1], info)
    return info


def main(argv: list[str] | None = None) -> int:
    import json

    p = argparse.ArgumentParser(prog="python -m mixai.training.stems.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default="data/stems/train.npz")
    p.add_argument("--val", default="data/stems/val.npz")
    p.add_argument("--out", default="models/mixai-stems.onnx")
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    info = train(a.train, a.val, a.out, epochs=a.epochs, seed=a.seed)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
