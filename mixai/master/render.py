"""The rendered chain, kept for the loudness stage: the audio (in memory or spilled to disk), its
K-weighted power per 64-sample sub-block and its oversampled peak envelope, all measured while
pedalboard renders, so the gain solver needs no further pass over the audio."""

from __future__ import annotations

import numpy as np

from mixai.analysis.measure import Progress
from mixai.dsp.chain import REFERENCE_LUFS, ChainRenderer
from mixai.dsp.limiter import PeakEnvelope
from mixai.dsp.loudness import LoudnessMeter
from mixai.dsp.streaming import SUB_BLOCK, GroupReducer, stage_pool
from mixai.io.framestore import FrameStore, default_temp_dir
from mixai.master.source import AudioSource
from mixai.settings.schema import Settings

ENVELOPE_HEADROOM_DB = 12.0  # how far above the expected make-up gain the peak envelope stays exact


class Render:
    """The chain output kept for the loudness stage: the audio, its K-weighted power per 64-sample
    sub-block and its oversampled peak envelope.

    The power and the envelope are measured on the helper thread while pedalboard renders the next
    block, so the loudness solver needs no further pass over the audio.
    """

    def __init__(self, source: AudioSource, settings: Settings, input_lufs: float,
                 progress: Progress | None = None, *, dc: np.ndarray | None = None) -> None:
        rate, channels = source.sample_rate, source.channels
        self.audio = FrameStore(channels, expected_frames=source.frames, directory=default_temp_dir())
        self.sample_rate = rate
        self.ceiling_dbtp = settings.output.ceiling_dbtp
        # The chain leaves its output near the working level, so the make-up gain is about
        # target - REFERENCE_LUFS: exact peaks up to well above that, rebuilt if the solver goes further.
        expected_gain_db = settings.output.target_lufs - REFERENCE_LUFS
        self.envelope = PeakEnvelope(channels, ceiling_dbtp=self.ceiling_dbtp,
                                     max_gain_db=expected_gain_db + ENVELOPE_HEADROOM_DB)
        self.power = SubBlockPower()
        chain = ChainRenderer(settings, rate, input_gain_db=REFERENCE_LUFS - input_lufs)
        self.meter = LoudnessMeter(rate, channels)
        pending = None  # metering of the previous block runs while pedalboard renders the next
        for block in source.blocks():
            if dc is not None:
                block = np.asarray(block, np.float32) - dc[:, None]
            out = chain.process(block)
            if pending is not None:
                pending.result()
            self.audio.append(out)
            pending = stage_pool().submit(self._measure, out)
            if progress:
                progress(0.3 + 0.4 * min(1.0, self.audio.frames / max(source.frames, 1)), "render")
        if pending is not None:
            pending.result()
        self.envelope.finish()
        self.energy = self.power.energies()
        self.frames = self.audio.frames

    def _measure(self, out: np.ndarray) -> None:
        self.power.add(self.meter.add(out, power=True))
        self.envelope.add(out)

    def peak_envelope(self, gain_db: float, chunk: int) -> PeakEnvelope:
        """The envelope; rebuilt from the stored audio when a gain above its range is asked about."""
        if gain_db > self.envelope.max_gain_db:
            self.envelope.close()
            self.envelope = PeakEnvelope.from_store(self.audio, ceiling_dbtp=self.ceiling_dbtp,
                                                    max_gain_db=gain_db + ENVELOPE_HEADROOM_DB,
                                                    chunk_frames=chunk)
        return self.envelope

    def close(self) -> None:
        self.audio.close()
        self.envelope.close()


class SubBlockPower:
    """Channel-summed K-weighted energy of each 64-sample sub-block (the limiter's planning grid)."""

    def __init__(self) -> None:
        self._sub_blocks = GroupReducer(SUB_BLOCK, np.sum)
        self._sums: list[np.ndarray] = []

    def add(self, power: np.ndarray) -> None:
        """Add the channel-summed K-weighted power of the next samples."""
        self._sums.append(self._sub_blocks.add(power))

    def energies(self) -> np.ndarray:
        tail = self._sub_blocks.remainder()
        return np.concatenate(self._sums + ([tail.sum(keepdims=True)] if tail.size else []) or [np.zeros(0)])


def step_frames(rate: int) -> int:
    """Samples per 100 ms loudness step at ``rate`` (the meter's grid)."""
    return max(1, int(round(LoudnessMeter.STEP_SECONDS * rate)))


__all__ = ["ENVELOPE_HEADROOM_DB", "Render", "SubBlockPower", "step_frames"]
