"""Train the role classifier (stem and mix features -> role) and export it to ONNX.

The rows are the stem network's (:mod:`mixai.training.stems.dataset`): every damaged stem of the
train corpora with its true role, the features of the damaged stem and of the damaged plain sum.
Damage (level, EQ, dynamics, mono) is there on purpose: a stem whose name says nothing is as
likely to be badly recorded as any other. Classes are weighted by the inverse of their frequency,
so rare roles (strings, backing) are not drowned by the common ones; the epoch with the best
validation balanced accuracy (mean of the per-role recalls) is kept.

A small MLP: inputs standardised (and clipped to +-4 spreads) inside the graph -> 2 x 64 GELU -> softmax over
:data:`mixai.settings.stems.ROLES`. Read at run time by :mod:`mixai.predict.roles`.

Usage::

    python -m mixai.training.stems.roles --train data/stems/rows/train.npz --val data/stems/rows/val.npz \\
        --out models/mixai-roles.onnx --seed 0
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

HIDDEN = 64
# Standardised inputs are clipped to +-Z_CLIP inside the graph: a feature far outside the training
# range (a pure sine's onset strength is >1000 spreads out) must not decide the role on its own.
Z_CLIP = 4.0


def role_rows(data) -> tuple[np.ndarray, np.ndarray]:
    """(classifier inputs, role indices) of a rows file."""
    from mixai.settings.stems import ROLES

    x = np.concatenate([data["stem_features"], data["mix_features"]], axis=1).astype(np.float32)
    y = np.array([ROLES.index(str(r)) for r in data["role"]], dtype=np.int64)
    return x, y


def build_model(mean: np.ndarray, std: np.ndarray, n_out: int):
    import torch
    from torch import nn

    class RoleNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
            self.body = nn.Sequential(nn.Linear(mean.size, HIDDEN), nn.GELU(), nn.Dropout(0.1),
                                      nn.Linear(HIDDEN, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, n_out))

        def logits(self, x):
            return self.body(torch.clamp((x - self.mean) / self.std, -Z_CLIP, Z_CLIP))

        def forward(self, x):
            return torch.softmax(self.logits(x), dim=-1)

    return RoleNet()


def confusion(pred: np.ndarray, true: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (true, pred), 1)
    return m


def scores(pred: np.ndarray, true: np.ndarray, roles: tuple[str, ...]) -> dict:
    """Accuracy, balanced accuracy and per-role recall (roles absent from ``true`` are left out)."""
    m = confusion(pred, true, len(roles))
    present = m.sum(axis=1) > 0
    recall = np.diag(m)[present] / m.sum(axis=1)[present]
    return {"accuracy": float(np.mean(pred == true)), "balanced_accuracy": float(recall.mean()),
            "recall": {r: round(float(v), 3) for r, v in zip(np.array(roles)[present], recall)},
            "confusion": m.tolist(), "rows": int(true.size)}


def train(train_path: str, val_path: str, out: str | None, *, epochs: int = 150, seed: int = 0,
          lr: float = 3e-3, batch: int = 512, threads: int = 2) -> dict:
    import torch
    from tqdm import tqdm

    from mixai.settings.stems import ROLES

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    xt, yt = role_rows(np.load(train_path))
    xv, yv = role_rows(np.load(val_path))
    mean, std = xt.mean(axis=0), np.maximum(xt.std(axis=0), 1e-3)
    model = build_model(mean, std, len(ROLES))
    counts = np.bincount(yt, minlength=len(ROLES)).astype(np.float64)
    weights = torch.tensor(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(ROLES), 0.0),
                           dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    Xt, Yt, Xv = torch.tensor(xt), torch.tensor(yt), torch.tensor(xv)
    gen = torch.Generator().manual_seed(seed)
    best: tuple[float, dict | None, int] = (-1.0, None, -1)
    t0 = time.time()
    bar = tqdm(range(epochs), desc="role model", unit="epoch")
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), batch):
            idx = perm[i:i + batch]
            loss = loss_fn(model.logits(Xt[idx]), Yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            pv = model(Xv).numpy().argmax(axis=1)
        bal = scores(pv, yv, ROLES)["balanced_accuracy"]
        if bal > best[0]:
            best = (bal, {k: v.clone() for k, v in model.state_dict().items()}, epoch)
        bar.set_postfix(loss=round(float(loss.detach()), 3), val_balanced=round(bal, 3))
    model.load_state_dict(best[1])
    model.eval()
    with torch.no_grad():
        pv = model(Xv).numpy().argmax(axis=1)
    val = scores(pv, yv, ROLES)
    info = {"seed": seed, "epochs": epochs, "best_epoch": best[2], "train_rows": len(xt), "val_rows": len(xv),
            "val_accuracy": round(val["accuracy"], 4), "val_balanced_accuracy": round(val["balanced_accuracy"], 4),
            "val_recall": val["recall"], "train_seconds": round(time.time() - t0, 1)}
    if out:
        from mixai.training.export import export_role_model

        export_role_model(model, out, info)
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mixai.training.stems.roles", description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default="data/stems/rows/train.npz")
    p.add_argument("--val", default="data/stems/rows/val.npz")
    p.add_argument("--out", default="models/mixai-roles.onnx")
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(json.dumps(train(a.train, a.val, a.out, epochs=a.epochs, seed=a.seed), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
