"""Train the mastering network (:mod:`mixai.training.master.model`) on cached examples; export to ONNX.

    python -m mixai.training.master.train --data data/dataset --seed 0 --out models/mixai-master.onnx

Deterministic for a given ``--seed`` (deterministic torch algorithms, seeded shuffling), on CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mixai.settings import PARAMETER_NAMES
from mixai.training.master.model import INPUTS, LOSSES, MasterNet, label_index, loudness_shares
from mixai.analysis.features import FEATURE_COUNT


def with_profile_copies(split: dict[str, np.ndarray], profile: np.ndarray) -> dict[str, np.ndarray]:
    """The split plus a reference-free copy of every reference-mode example that allows one.

    The label undoes the damage whatever the target is, so an example made with a reference is just
    as true with the built-in profile as its target: reference-free mastering, the default, gets
    twice the examples. Not copied: the "too little reverb" damage (the label adds a room), which
    only a reference can reveal.
    """
    from mixai.training.master.dataset import MODE_PROFILE

    adds_reverb = split["label"][:, label_index("reverb.wet")] > 1e-4
    copy = (split["mode"] != MODE_PROFILE) & ~adds_reverb
    out = dict(split)
    for key in ("audio", "label", "mode", "piece"):
        out[key] = np.concatenate([split[key], split[key][copy]])
    out["mode"][len(copy):] = MODE_PROFILE
    profile_rows = np.repeat(np.asarray(profile, split["target"].dtype)[None], int(copy.sum()), axis=0)
    out["target"] = np.concatenate([split["target"], profile_rows])
    return out


def _inputs(split: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([split["audio"], split["target"]], axis=1).astype(np.float32)


def train(train_split: dict, val_split: dict, *, seed: int = 0, epochs: int = 300, batch: int = 256,
          lr: float = 2e-3, hidden: int = 256, layers: int = 3, dropout: float = 0.1,
          weight_decay: float = 1e-4, noise: float = 0.0, loss: str = "loudness_response", progress: bool = True, device: str | None = None
          ) -> tuple[MasterNet, dict]:
    """Fit the network; returns it (on CPU, eval mode, best val epoch) and a history dict."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    x_train, y_train = _inputs(train_split), train_split["label"].astype(np.float32)
    x_val, y_val = _inputs(val_split), val_split["label"].astype(np.float32)
    model = MasterNet(hidden=hidden, layers=layers, dropout=dropout)
    model.set_normalisation(x_train)
    model.to(dev)
    xt, yt = torch.tensor(x_train, device=dev), torch.tensor(y_train, device=dev)
    xv, yv = torch.tensor(x_val, device=dev), torch.tensor(y_val, device=dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = max(1, -(-len(xt) // batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    loss_fn = LOSSES[loss]
    share_train = torch.tensor(loudness_shares(train_split["audio"], y_train), device=dev)
    share_val = torch.tensor(loudness_shares(val_split["audio"], y_val), device=dev)
    best = (float("inf"), -1, None)
    history: dict[str, list] = {"train": [], "val": []}
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(xt), generator=generator).to(dev)
        total = 0.0
        for i in range(steps_per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            x = xt[idx]
            if noise:  # feature noise, in units of each feature's spread: pieces differ more than excerpts
                x = x + noise * model.std * torch.randn(x.shape, generator=generator).to(dev)
            loss = loss_fn(model(x), yt[idx], share_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            val = float(loss_fn(model(xv), yv, share_val))
        history["train"].append(total / len(xt))
        history["val"].append(val)
        if val < best[0]:
            best = (val, epoch, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        bar.set_postfix(train=f"{total / len(xt):.4f}", val=f"{val:.4f}", best=f"{best[0]:.4f}@{best[1]}")
    bar.close()
    model = model.cpu()
    model.load_state_dict(best[2])
    model.eval()
    history.update(best_val=best[0], best_epoch=best[1], hidden=hidden, layers=layers, dropout=dropout,
                   epochs=epochs, batch=batch, lr=lr, weight_decay=weight_decay, noise=noise, loss=loss)
    return model, history


def per_parameter_val_error(model: MasterNet, split: dict) -> dict[str, float]:
    with torch.no_grad():
        pred = model(torch.tensor(_inputs(split))).numpy()
    err = np.abs(pred - split["label"])
    return {name: round(float(err[:, i].mean()), 4) for i, name in enumerate(PARAMETER_NAMES)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mixai.training.master.train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", default="data/dataset", help="folder with train.npz and val.npz "
                        "(python -m mixai.training.master.dataset)")
    parser.add_argument("--extra-train", nargs="*", default=[], help="more train .npz files (other --seed "
                        "runs of mixai.training.master.dataset) to append to DATA/train.npz")
    parser.add_argument("--out", default="models/mixai-master.onnx")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--noise", type=float, default=0.0, help="training input noise, x feature std")
    parser.add_argument("--loss", default="loudness_response", choices=sorted(LOSSES))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (more than the free cores slows it down badly)")
    parser.add_argument("--no-profile-copies", action="store_true", help="do not add a reference-free copy "
                        "of each reference-mode train example (see with_profile_copies)")
    parser.add_argument("--training-pieces", type=int, default=None,
                        help="distinct scores across all the datasets, for the metadata (default: the largest "
                             "dataset's count, right when the corpora are nested renders of one seeded order)")
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args(argv)

    from mixai.predict.domain import InputDomain
    from mixai.training.master.dataset import load_split
    from mixai.training.export import export_onnx

    torch.set_num_threads(args.threads)
    data = Path(args.data)
    train_split, val_split = load_split(data / "train.npz"), load_split(data / "val.npz")
    datasets = [{"path": str(data / "train.npz"), "examples": len(train_split["label"]),
                 "pieces": int(train_split["pieces"])}]
    for extra in args.extra_train:
        more = load_split(extra)
        for key in ("audio", "target", "label", "mode", "piece"):
            train_split[key] = np.concatenate([train_split[key], more[key]])
        datasets.append({"path": str(extra), "examples": len(more["label"]), "pieces": int(more["pieces"])})
    largest = max(d["pieces"] for d in datasets)
    if args.training_pieces is not None and args.training_pieces < largest:
        parser.error(f"--training-pieces {args.training_pieces} is fewer than one dataset's own {largest} pieces")
    # where the model will be trusted: the features of every train example's input audio
    domain = InputDomain.fit(train_split["audio"])
    if not args.no_profile_copies:
        from mixai.predict import load_profile

        train_split = with_profile_copies(train_split, load_profile("default").features.values)
    began = time.perf_counter()
    model, history = train(train_split, val_split, seed=args.seed, epochs=args.epochs, batch=args.batch,
                           lr=args.lr, hidden=args.hidden, layers=args.layers, dropout=args.dropout,
                           weight_decay=args.weight_decay, noise=args.noise, loss=args.loss)
    seconds = time.perf_counter() - began
    print(f"trained in {seconds:.1f} s; best val loss {history['best_val']:.4f} at epoch {history['best_epoch']}")
    print("val mean |error| per parameter:", json.dumps(per_parameter_val_error(model, val_split)))
    if not args.no_export:
        examples = sum(d["examples"] for d in datasets)
        info = {"training_seed": args.seed, "training_examples": examples,
                "profile_copies": int(len(train_split["label"])) - examples,
                # Extra datasets usually come from larger renders of the same seeded score order, whose
                # train split contains the main one's scores: then the distinct pieces are the largest
                # count. Corpora that add pieces (--start-position) say how many with --training-pieces.
                "training_pieces": largest if args.training_pieces is None else args.training_pieces,
                "training_datasets": json.dumps(datasets),
                "training_seconds": round(seconds, 1),
                "best_val_loss": round(history["best_val"], 5), "best_epoch": history["best_epoch"],
                "loss": args.loss,
                "input_domain": domain.to_json(),
                "architecture": f"MLP {INPUTS + FEATURE_COUNT}-{'-'.join([str(args.hidden)] * args.layers)}-22 ReLU/sigmoid"}
        path = export_onnx(model, args.out, info)
        print(f"exported {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
