"""Train the stem network on rows from :mod:`mixai.training.stems.dataset` and export it to ONNX.

A small MLP: inputs standardised inside the network (train-set mean and spread baked into the
graph) -> 2 x 128 GELU -> sigmoid outputs in [0, 1] (:data:`mixai.settings.stems.STEM_OUTPUTS`).
Loss: mean absolute error per output, the relative-loudness output weighted x6 (it sets the
balance); rows of real recordings (source ``recorded``) weigh ``recorded_weight`` times a
rendered row, since there are far fewer of them. Small Gaussian noise on the standardised inputs
keeps the network from keying on one soundfont's exact timbre. AdamW, cosine schedule, seeded.

Model selection uses the validation rows only: every few epochs the relative-loudness error (per
song, after removing the song's common offset) is divided by the same error of equal loudness
(every stem alike) on the same rows, separately for the rendered and the recorded validation
songs; the epoch whose *worse* ratio is lowest is kept, so a model cannot buy renders with real
songs or the other way round.

Usage::

    python -m mixai.training.stems.train --train data/stems/rows/train.npz --val data/stems/rows/val.npz \\
        --out models/mixai-stems.onnx --epochs 300 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LEVEL_WEIGHT = 6.0
HIDDEN = 128
RECORDED_SOURCE = "recorded"


def role_columns() -> list[int]:
    """Columns of the input row that say which roles the stem and its song have (no sound)."""
    from mixai.mix.model import model_input_names

    return [i for i, n in enumerate(model_input_names()) if n.startswith(("role.", "song_roles.", "song_stems"))]


def build_model(mean: np.ndarray, std: np.ndarray, n_out: int, *, noise: float = 0.0, level_bound_db: float = 0.0):
    """The network. With ``level_bound_db`` > 0 the level output is a role prior (a small MLP of
    the role columns alone) plus at most +-``level_bound_db`` from the sound (tanh of the full
    MLP): material unlike the training material can then move a stem's level only that far."""
    import torch
    from torch import nn

    from mixai.settings.stems import STEM_OUTPUTS

    level = STEM_OUTPUTS[0]
    cols = role_columns()

    class StemNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
            self.register_buffer("cols", torch.tensor(cols, dtype=torch.long))
            sound = torch.ones(mean.size)
            sound[cols] = 0.0
            self.register_buffer("sound", sound)  # noise goes on the sound columns, never on the roles
            self.noise = noise
            self.bound = float(level_bound_db)
            self.body = nn.Sequential(nn.Linear(mean.size, HIDDEN), nn.GELU(), nn.Dropout(0.1),
                                      nn.Linear(HIDDEN, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, n_out))
            if self.bound > 0:
                self.prior = nn.Sequential(nn.Linear(len(cols), 32), nn.GELU(), nn.Linear(32, 1))

        def forward(self, x):
            z = (x - self.mean) / self.std
            if self.training and self.noise > 0:
                z = z + self.noise * torch.randn_like(z) * self.sound
            raw = self.body(z)
            out = torch.sigmoid(raw)
            if self.bound <= 0:
                return out
            prior_db = self.prior(torch.index_select(z, 1, self.cols))
            level_db = prior_db + self.bound * torch.tanh(raw[:, :1])
            unit = torch.clamp((level_db - level.low) / (level.high - level.low), 0.0, 1.0)
            return torch.cat([unit, out[:, 1:]], dim=1)

    return StemNet()


def _centred_abs(err: np.ndarray, songs: np.ndarray) -> np.ndarray:
    out = np.empty_like(err)
    for s in np.unique(songs):
        sel = songs == s
        out[sel] = err[sel] - err[sel].mean()
    return np.abs(out)


def level_error_db(pred_unit: np.ndarray, true_unit: np.ndarray, songs: np.ndarray) -> float:
    """Median |error| of the relative loudness, after removing each song's mean error (a shift of
    every stem of a song by the same dB changes nothing in the mix)."""
    from mixai.settings.stems import STEM_OUTPUTS

    span = STEM_OUTPUTS[0].high - STEM_OUTPUTS[0].low
    return float(np.median(_centred_abs((pred_unit[:, 0] - true_unit[:, 0]) * span, songs)))


def equal_loudness_error_db(true_unit: np.ndarray, songs: np.ndarray) -> float:
    """The same error for equal loudness: every stem of a song predicted alike."""
    return level_error_db(np.zeros_like(true_unit), true_unit, songs)


def val_groups(data) -> dict[str, np.ndarray]:
    """Row masks of the validation domains: rendered and recorded songs (those present)."""
    source = data["source"] if "source" in data else np.full(len(data["x"]), "rendered")
    recorded = source == RECORDED_SOURCE
    return {name: mask for name, mask in (("rendered", ~recorded), ("recorded", recorded)) if mask.any()}


def load_rows(rows) -> dict[str, np.ndarray]:
    """Rows as a dict of arrays: from an ``.npz`` path, or a dict already."""
    if isinstance(rows, dict):
        return rows
    with np.load(rows) as data:
        return {k: data[k] for k in data.files}


def predict(model, x: np.ndarray) -> np.ndarray:
    """The network's [0, 1] outputs for input rows (eval mode, no noise)."""
    import torch

    model.eval()
    with torch.no_grad():
        return model(torch.tensor(np.asarray(x, dtype=np.float32))).numpy()


def fit(train_path, val_path, *, epochs: int = 300, seed: int = 0, lr: float = 2e-3, batch: int = 256,
        recorded_weight: float = 3.0, noise: float = 0.1, level_bound_db: float = 0.0, keep: str = "best",
        threads: int = 2, quiet: bool = False):
    """(the trained torch network, its training record); rows from paths or dicts."""
    import torch
    from tqdm import tqdm

    from mixai.settings.stems import STEM_OUTPUTS

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    tr, va = load_rows(train_path), load_rows(val_path)
    xt, yt = tr["x"].astype(np.float32), tr["y"].astype(np.float32)
    xv, yv = va["x"].astype(np.float32), va["y"].astype(np.float32)
    row_w = np.ones(len(xt), np.float32)
    if "source" in tr:
        row_w[tr["source"] == RECORDED_SOURCE] = recorded_weight
    mean = xt.mean(axis=0)
    std = np.maximum(xt.std(axis=0), 1e-3)
    std[role_columns()] = 1.0  # the role columns stay counts and one-hots (no train-set scaling)
    mean[role_columns()] = 0.0
    model = build_model(mean, std, len(STEM_OUTPUTS), noise=noise, level_bound_db=level_bound_db)
    weights = torch.ones(len(STEM_OUTPUTS))
    weights[0] = LEVEL_WEIGHT
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    Xt, Yt, Wt, Xv = torch.tensor(xt), torch.tensor(yt), torch.tensor(row_w), torch.tensor(xv)
    groups = val_groups(va)
    baseline = {g: equal_loudness_error_db(yv[m], va["piece"][m]) for g, m in groups.items()}
    gen = torch.Generator().manual_seed(seed)
    if keep not in ("best", "last"):
        raise ValueError("keep must be 'best' (the validation choice) or 'last'")
    best: tuple[float, dict | None, int, dict] = (float("inf"), None, -1, {})
    history: list[dict] = []
    t0 = time.time()
    bar = tqdm(range(epochs), desc="stem model", unit="epoch", disable=quiet)
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), batch):
            idx = perm[i:i + batch]
            per_row = ((model(Xt[idx]) - Yt[idx]).abs() * weights).mean(dim=1)
            loss = (per_row * Wt[idx]).sum() / Wt[idx].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 5 == 4 or epoch == epochs - 1:
            model.eval()
            with torch.no_grad():
                pv = model(Xv).numpy()
            errs = {g: level_error_db(pv[m], yv[m], va["piece"][m]) for g, m in groups.items()}
            worst = max(errs[g] / max(baseline[g], 1e-6) for g in errs)
            history.append({"epoch": epoch, **{g: round(e, 3) for g, e in errs.items()}})
            if worst < best[0] or (keep == "last" and epoch == epochs - 1):
                best = (worst, {k: v.clone() for k, v in model.state_dict().items()}, epoch, errs)
            bar.set_postfix(loss=round(float(loss.detach()), 4), **{f"val_{g}_db": round(e, 2) for g, e in errs.items()})
    model.load_state_dict(best[1])
    model.eval()
    with torch.no_grad():
        pv = model(Xv).numpy()
    mae = np.abs(pv - yv).mean(axis=0)
    info = {"seed": seed, "epochs": epochs, "best_epoch": best[2], "train_rows": len(xt), "val_rows": len(xv),
            "recorded_weight": recorded_weight, "input_noise": noise, "level_bound_db": level_bound_db,
            "val_level_median_abs_db": {g: round(e, 3) for g, e in best[3].items()},
            "val_equal_loudness_median_abs_db": {g: round(e, 3) for g, e in baseline.items()},
            "val_worst_ratio": round(best[0], 3), "train_seconds": round(time.time() - t0, 1),
            "keep": keep, "val_history": history,
            "val_unit_mae": {s.name: round(float(m), 4) for s, m in zip(STEM_OUTPUTS, mae)}}
    if "source" in tr:
        info["train_sources"] = {str(s): int(n) for s, n in zip(*np.unique(tr["source"], return_counts=True))}
    return model, info


def train(train_path, val_path, out: str | None, *, level_trust: float = 1.0, **kwargs) -> dict:
    """:func:`fit`, then export to ``out`` (when given) with ``level_trust`` in the metadata
    (:func:`mixai.mix.model.shrink_levels`: how far the runtime follows the level output)."""
    model, info = fit(train_path, val_path, **kwargs)
    info["level_trust"] = round(float(level_trust), 3)
    if out:
        from mixai.training.export import export_stem_model

        export_stem_model(model, out, int(model.mean.numel()), info)
    return info


def main(argv: list[str] | None = None) -> int:
    import json

    p = argparse.ArgumentParser(prog="python -m mixai.training.stems.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default="data/stems/rows/train.npz")
    p.add_argument("--val", default="data/stems/rows/val.npz")
    p.add_argument("--out", default="models/mixai-stems.onnx")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--recorded-weight", type=float, default=3.0)
    p.add_argument("--noise", type=float, default=0.1, help="Gaussian noise on the standardised inputs")
    p.add_argument("--level-bound-db", type=float, default=0.0,
                   help="> 0: level = role prior + at most this many dB from the sound")
    a = p.parse_args(argv)
    info = train(a.train, a.val, a.out, epochs=a.epochs, seed=a.seed, recorded_weight=a.recorded_weight,
                 noise=a.noise, level_bound_db=a.level_bound_db)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
