"""Train the mastering predictor (an MLP) on the cached examples and export it to ONNX.

    python -m mixai.training.train --data data/dataset --seed 0 --out models/mixai-master.onnx

Input: the 48-value vector ``concat(features of the audio, features of the target)``. The network
standardises it with the train split's mean and std (stored as buffers, so they are part of the
exported graph), appends the standardised difference ``target - audio``, and runs a ReLU MLP to 22
sigmoid outputs: the settings vector in [0, 1] (:meth:`mixai.settings.Settings.to_vector`).

Loss (``--loss``, see the model card for the comparison): by default ``loudness_response``, which
judges the EQ by its frequency response as heard after mixai's loudness normalisation, on the mel
grid of the evaluation's MSD, plus a weighted L1 of the other parameters. In that L1, gains, ratio,
width and wet are always weighted; the frequency and Q of a band are weighted by how much that band's
label gain matters (|gain| / 12 dB), the compressor's threshold and times only when the label
compressor is on, the reverb's room and damping only when the label adds reverb. The parameter of a
band that does nothing carries no information, so it must not pull the network.

Deterministic for a given ``--seed`` (deterministic torch algorithms, seeded shuffling), on CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mixai.features import FEATURE_COUNT
from mixai.settings import PARAMETER_NAMES, PARAMETERS

INPUTS = 2 * FEATURE_COUNT
OUTPUTS = len(PARAMETERS)


class MasterNet(nn.Module):
    """(batch, 48) raw features -> (batch, 22) settings in [0, 1]; normalisation inside the graph."""

    def __init__(self, hidden: int = 256, layers: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(INPUTS))
        self.register_buffer("std", torch.ones(INPUTS))
        self.register_buffer("diff_std", torch.ones(FEATURE_COUNT))
        blocks: list[nn.Module] = []
        width = INPUTS + FEATURE_COUNT
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU()]
            if dropout:
                blocks.append(nn.Dropout(dropout))
            width = hidden
        blocks.append(nn.Linear(width, OUTPUTS))
        self.net = nn.Sequential(*blocks)
        self.hidden, self.layers = hidden, layers

    def set_normalisation(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        diff = x[:, FEATURE_COUNT:] - x[:, :FEATURE_COUNT]
        self.mean.copy_(torch.tensor(x.mean(axis=0), dtype=torch.float32))
        self.std.copy_(torch.tensor(np.maximum(x.std(axis=0), 1e-3), dtype=torch.float32))
        self.diff_std.copy_(torch.tensor(np.maximum(diff.std(axis=0), 1e-3), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean) / self.std
        diff = (x[:, FEATURE_COUNT:] - x[:, :FEATURE_COUNT]) / self.diff_std
        return torch.sigmoid(self.net(torch.cat([z, diff], dim=1)))


def _index(name: str) -> int:
    return PARAMETER_NAMES.index(name)


def loss_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-example, per-parameter weights for the L1 loss (see the module docstring)."""
    w = torch.ones_like(labels)

    def gain_db(name: str) -> torch.Tensor:
        spec = PARAMETERS[_index(name)]
        return spec.low + labels[:, _index(name)] * (spec.high - spec.low)

    for band in ("low_shelf", "low_mid", "mid", "high_mid", "high_shelf"):
        g = gain_db(f"eq.{band}.gain_db").abs() / 12.0
        w[:, _index(f"eq.{band}.gain_db")] = 3.0
        w[:, _index(f"eq.{band}.freq_hz")] = 0.05 + 2.0 * g
        if band not in ("low_shelf", "high_shelf"):
            w[:, _index(f"eq.{band}.q")] = 0.05 + 1.0 * g
    comp_on = (labels[:, _index("compressor.ratio")] > 1e-4).float()
    w[:, _index("compressor.ratio")] = 2.0
    for name in ("threshold_db", "attack_ms", "release_ms"):
        w[:, _index(f"compressor.{name}")] = 0.05 + comp_on * (1.5 if name == "threshold_db" else 0.5)
    w[:, _index("stereo.width")] = 3.0
    wet_on = (labels[:, _index("reverb.wet")] > 1e-4).float()
    w[:, _index("reverb.wet")] = 2.0
    for name in ("room_size", "damping"):
        w[:, _index(f"reverb.{name}")] = 0.05 + 0.5 * wet_on
    return w


def weighted_l1(pred: torch.Tensor, labels: torch.Tensor, loudness_share: torch.Tensor | None = None
                ) -> torch.Tensor:
    w = loss_weights(labels)
    return (w * (pred - labels).abs()).sum(dim=1).mean() / w.mean(dim=1).mean() / OUTPUTS


EQ_CURVE_HZ = np.geomspace(25.0, 18000.0, 96)
CURVE_SAMPLE_RATE = 44100.0
_BANDS = (("low_shelf", "low"), ("low_mid", "peak"), ("mid", "peak"), ("high_mid", "peak"), ("high_shelf", "high"))


def _mel_centres_hz(bands: int = 128, sample_rate: float = CURVE_SAMPLE_RATE) -> np.ndarray:
    import librosa

    return librosa.mel_frequencies(bands + 2, fmax=sample_rate / 2)[1:-1]


#: The centres of the 128 mel bands of the evaluation's MSD (``mixai.metrics``), 0 Hz to Nyquist.
MEL_CURVE_HZ = _mel_centres_hz()


def _unit_to_value(u: torch.Tensor, name: str) -> torch.Tensor:
    spec = PARAMETERS[_index(name)]
    if spec.scale == "log":
        return torch.exp(math.log(spec.low) + u * (math.log(spec.high) - math.log(spec.low)))
    return spec.low + u * (spec.high - spec.low)


def eq_response_db(vector: torch.Tensor, freqs_hz: np.ndarray = EQ_CURVE_HZ) -> torch.Tensor:
    """(batch, 22) settings in [0, 1] -> (batch, len(freqs_hz)) dB response of the EQ's five bands.

    The JUCE biquads pedalboard uses (shelves with Q = 1/sqrt 2), evaluated at 44.1 kHz on a grid
    (by default log-spaced from 25 Hz to 18 kHz). Differentiable, so it can be a loss.
    """
    w = torch.tensor(2 * np.pi * np.asarray(freqs_hz) / CURVE_SAMPLE_RATE, dtype=vector.dtype,
                     device=vector.device)
    cos1, sin1, cos2, sin2 = torch.cos(w), torch.sin(w), torch.cos(2 * w), torch.sin(2 * w)
    total = torch.zeros(vector.shape[0], w.numel(), dtype=vector.dtype, device=vector.device)
    for band, kind in _BANDS:
        f = _unit_to_value(vector[:, _index(f"eq.{band}.freq_hz")], f"eq.{band}.freq_hz")[:, None]
        g = _unit_to_value(vector[:, _index(f"eq.{band}.gain_db")], f"eq.{band}.gain_db")[:, None]
        q = (_unit_to_value(vector[:, _index(f"eq.{band}.q")], f"eq.{band}.q")[:, None]
             if kind == "peak" else torch.full_like(f, 1 / math.sqrt(2)))
        omega = 2 * math.pi * f / CURVE_SAMPLE_RATE
        co, so = torch.cos(omega), torch.sin(omega)
        A = torch.pow(10.0, g / 40.0)
        if kind == "peak":
            alpha = so / (2 * q)
            b = (1 + alpha * A, -2 * co, 1 - alpha * A)
            a = (1 + alpha / A, -2 * co, 1 - alpha / A)
        else:
            beta = so * torch.sqrt(A) / q
            am, ap = A - 1, A + 1
            if kind == "low":
                b = (A * (ap - am * co + beta), 2 * A * (am - ap * co), A * (ap - am * co - beta))
                a = (ap + am * co + beta, -2 * (am + ap * co), ap + am * co - beta)
            else:
                b = (A * (ap + am * co + beta), -2 * A * (am + ap * co), A * (ap + am * co - beta))
                a = (ap - am * co + beta, 2 * (am - ap * co), ap - am * co - beta)

        def power(c):
            re = c[0] + c[1] * cos1 + c[2] * cos2
            im = -(c[1] * sin1 + c[2] * sin2)
            return re * re + im * im

        total = total + 10 * torch.log10(power(b).clamp_min(1e-12) / power(a).clamp_min(1e-12))
    return total


_EQ_PARAMS = [i for i, n in enumerate(PARAMETER_NAMES) if n.startswith("eq.") and n != "eq.highpass_hz"]


def _non_eq_l1(pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The weighted L1 of every parameter, EQ ones x0.1: keeps unused bands near their defaults."""
    w = loss_weights(labels)
    w[:, _EQ_PARAMS] *= 0.1
    return (w * (pred - labels).abs()).sum(dim=1) / OUTPUTS


def response_loss(pred: torch.Tensor, labels: torch.Tensor, loudness_share: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """EQ judged by its frequency response (mean |dB error| / 12 dB) plus the weighted L1 of the rest.

    The response does not care which peak slot a resonance lands in, or about the frequency of a
    band with no gain: only the sound of the EQ counts.
    """
    curve = (eq_response_db(pred) - eq_response_db(labels)).abs().mean(dim=1) / 12.0
    return (curve + _non_eq_l1(pred, labels)).mean()


def loudness_shares(audio_features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(n, 128): each mel-grid point's share of the *clean* mix's K-weighted power.

    The clean spectrum is estimated from the damaged audio's band levels (features) plus the label
    EQ, which undoes the EQ damage; a band's power is spread evenly over the grid points inside it.
    """
    from scipy import signal

    from mixai.features import BAND_EDGES_HZ
    from mixai.loudness import _k_weighting_sos

    grid = MEL_CURVE_HZ
    _, k = signal.sosfreqz(_k_weighting_sos(int(CURVE_SAMPLE_RATE)), worN=grid, fs=CURVE_SAMPLE_RATE)
    k_db = 20 * np.log10(np.maximum(np.abs(k), 1e-6))
    edges = np.asarray(BAND_EDGES_HZ)
    band = np.clip(np.searchsorted(edges, grid, side="right") - 1, 0, len(edges) - 2)
    points_per_band = np.bincount(band, minlength=len(edges) - 1)
    with torch.no_grad():
        label_db = eq_response_db(torch.tensor(labels, dtype=torch.float64), grid).numpy()
    level = (np.asarray(audio_features, np.float64)[:, band] - 10 * np.log10(points_per_band[band])
             + label_db + k_db)
    share = 10 ** ((level - level.max(axis=1, keepdims=True)) / 10)
    return (share / share.sum(axis=1, keepdims=True)).astype(np.float32)


def loudness_response_loss(pred: torch.Tensor, labels: torch.Tensor, loudness_share: torch.Tensor) -> torch.Tensor:
    """The response loss as the output is heard: after loudness normalisation, on the mel grid.

    mixai normalises the chain's output to a target loudness, so an EQ error that is a constant
    offset is undone: what remains at each frequency is the error minus its loudness offset (the
    log of the clean mix's K-weighted power-mean of 10^(error/10)). Its mean |dB| over the centres
    of the 128 mel bands is what the mel-spectral distance measures, band for band.
    """
    err = eq_response_db(pred, MEL_CURVE_HZ) - eq_response_db(labels, MEL_CURVE_HZ)
    offset = 10 * torch.log10((loudness_share * torch.pow(10.0, err / 10)).sum(dim=1, keepdim=True))
    curve = (err - offset).abs().mean(dim=1) / 12.0
    return (curve + _non_eq_l1(pred, labels)).mean()


LOSSES = {"param": weighted_l1, "response": response_loss, "loudness_response": loudness_response_loss}


def with_profile_copies(split: dict[str, np.ndarray], profile: np.ndarray) -> dict[str, np.ndarray]:
    """The split plus a reference-free copy of every reference-mode example that allows one.

    The label undoes the damage whatever the target is, so an example made with a reference is just
    as true with the built-in profile as its target: reference-free mastering, the default, gets
    twice the examples. Not copied: the "too little reverb" damage (the label adds a room), which
    only a reference can reveal.
    """
    from mixai.training.dataset import MODE_PROFILE

    adds_reverb = split["label"][:, _index("reverb.wet")] > 1e-4
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


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


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
    parser = argparse.ArgumentParser(prog="python -m mixai.training.train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", default="data/dataset", help="folder with train.npz and val.npz "
                        "(python -m mixai.training.dataset)")
    parser.add_argument("--extra-train", nargs="*", default=[], help="more train .npz files (other --seed "
                        "runs of mixai.training.dataset) to append to DATA/train.npz")
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
    from mixai.training.dataset import load_split
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
