"""The mastering network and the losses it is trained with (torch; training only).

:class:`MasterNet`: the 48-value vector ``concat(features of the audio, features of the target)``
is standardised with the train split's mean and std (buffers, so part of the exported graph), the
standardised difference ``target - audio`` is appended, and a ReLU MLP gives 22 sigmoid outputs:
the settings vector in [0, 1] (:meth:`mixai.settings.Settings.to_vector`).

Losses (:data:`LOSSES`; the model card compares them): ``loudness_response`` (the default) judges
the EQ by its frequency response as heard after mixai's loudness normalisation, on the mel grid of
the evaluation's MSD, plus a weighted L1 of the other parameters. In that L1, gains, ratio, width
and wet are always weighted; the frequency and Q of a band are weighted by how much that band's
label gain matters (|gain| / 12 dB), the compressor's threshold and times only when the label
compressor is on, the reverb's room and damping only when the label adds reverb. The parameter of
a band that does nothing carries no information, so it must not pull the network.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from mixai.analysis.features import FEATURE_COUNT
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


def label_index(name: str) -> int:
    """Column of a parameter in the settings vector."""
    return PARAMETER_NAMES.index(name)


def loss_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-example, per-parameter weights for the L1 loss (see the module docstring)."""
    w = torch.ones_like(labels)

    def gain_db(name: str) -> torch.Tensor:
        spec = PARAMETERS[label_index(name)]
        return spec.low + labels[:, label_index(name)] * (spec.high - spec.low)

    for band in ("low_shelf", "low_mid", "mid", "high_mid", "high_shelf"):
        g = gain_db(f"eq.{band}.gain_db").abs() / 12.0
        w[:, label_index(f"eq.{band}.gain_db")] = 3.0
        w[:, label_index(f"eq.{band}.freq_hz")] = 0.05 + 2.0 * g
        if band not in ("low_shelf", "high_shelf"):
            w[:, label_index(f"eq.{band}.q")] = 0.05 + 1.0 * g
    comp_on = (labels[:, label_index("compressor.ratio")] > 1e-4).float()
    w[:, label_index("compressor.ratio")] = 2.0
    for name in ("threshold_db", "attack_ms", "release_ms"):
        w[:, label_index(f"compressor.{name}")] = 0.05 + comp_on * (1.5 if name == "threshold_db" else 0.5)
    w[:, label_index("stereo.width")] = 3.0
    wet_on = (labels[:, label_index("reverb.wet")] > 1e-4).float()
    w[:, label_index("reverb.wet")] = 2.0
    for name in ("room_size", "damping"):
        w[:, label_index(f"reverb.{name}")] = 0.05 + 0.5 * wet_on
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
    return PARAMETERS[label_index(name)].value_at(u, exp=torch.exp)


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
        f = _unit_to_value(vector[:, label_index(f"eq.{band}.freq_hz")], f"eq.{band}.freq_hz")[:, None]
        g = _unit_to_value(vector[:, label_index(f"eq.{band}.gain_db")], f"eq.{band}.gain_db")[:, None]
        q = (_unit_to_value(vector[:, label_index(f"eq.{band}.q")], f"eq.{band}.q")[:, None]
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

    from mixai.analysis.features import BAND_EDGES_HZ
    from mixai.dsp.loudness import k_weighting_sos

    grid = MEL_CURVE_HZ
    _, k = signal.sosfreqz(k_weighting_sos(int(CURVE_SAMPLE_RATE)), worN=grid, fs=CURVE_SAMPLE_RATE)
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
    curve = heard_eq_error_db(pred, labels, loudness_share) / 12.0
    return (curve + _non_eq_l1(pred, labels)).mean()


def heard_eq_error_db(pred: torch.Tensor, labels: torch.Tensor, loudness_share: torch.Tensor) -> torch.Tensor:
    """(batch,) mean |dB| between two EQs' responses on the mel grid, after loudness normalisation
    (see :func:`loudness_response_loss`): the EQ part of the MSD, per example."""
    err = eq_response_db(pred, MEL_CURVE_HZ) - eq_response_db(labels, MEL_CURVE_HZ)
    offset = 10 * torch.log10((loudness_share * torch.pow(10.0, err / 10)).sum(dim=1, keepdim=True))
    return (err - offset).abs().mean(dim=1)


LOSSES = {"param": weighted_l1, "response": response_loss, "loudness_response": loudness_response_loss}


__all__ = ["MasterNet", "label_index", "LOSSES", "eq_response_db", "heard_eq_error_db", "loudness_shares", "loss_weights", "INPUTS", "OUTPUTS"]
