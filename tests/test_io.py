"""File I/O: atomic writes (an interrupted render leaves neither the output nor a temporary file),
dither, spilling long renders to disk, and every input format."""

import numpy as np
import pytest
import soundfile as sf

import material
from mixai.io import audio as audio_io
from mixai.master import final, pipeline
from mixai.master.options import MasterOptions
from mixai.master.pipeline import master_file


def test_interrupted_master_leaves_nothing(tmp_path, loop_wav, monkeypatch):
    out = tmp_path / "out.wav"
    real_write = audio_io.AtomicWriter.write
    calls = {"n": 0}

    def dying_write(self, block):
        calls["n"] += 1
        real_write(self, block)
        raise KeyboardInterrupt  # as if Ctrl-C arrived mid-write

    monkeypatch.setattr(audio_io.AtomicWriter, "write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        master_file(loop_wav, out, predictor="dsp")
    assert calls["n"] == 1
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_failed_overwrite(tmp_path, loop_wav, monkeypatch):
    out = tmp_path / "out.wav"
    out.write_bytes(b"previous master")
    monkeypatch.setattr(final, "write_final", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        master_file(loop_wav, out, predictor="dsp", options=MasterOptions(overwrite=True))
    assert out.read_bytes() == b"previous master"
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_sixteen_bit_dither_is_unbiased(tmp_path):
    x = (np.random.default_rng(0).standard_normal((2, 44100)) * 0.1).astype(np.float32)
    path = audio_io.save(tmp_path / "d.wav", x, 44100, bit_depth=16)
    y, _ = sf.read(path, dtype="float32")
    err = (y.T - x) * 32767
    assert abs(err.mean()) < 0.02 and 0.4 < err.std() < 0.6 and np.abs(err).max() <= 1.6


def test_long_render_spills_to_disk(tmp_path, monkeypatch):
    """Renders above the memory limit go to a temporary file and come back identical."""
    from mixai.io import framestore
    stores = []
    real_init = framestore.FrameStore.__init__

    def recording_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        stores.append(self)

    monkeypatch.setattr(framestore.FrameStore, "__init__", recording_init)
    monkeypatch.setattr(framestore, "MEMORY_LIMIT_BYTES", 1024)
    x = material.band_loop(6.0)
    out_disk, _ = pipeline.master_array(x, 44100, predictor="dsp")
    assert stores and all(s.on_disk for s in stores)
    monkeypatch.setattr(framestore, "MEMORY_LIMIT_BYTES", 1 << 30)
    out_mem, _ = pipeline.master_array(x, 44100, predictor="dsp")
    assert np.array_equal(out_disk, out_mem)


@pytest.mark.parametrize("extension", ["flac", "aiff", "ogg", "mp3"])
def test_compressed_and_other_formats_master_on_target(tmp_path, extension):
    """Every input format the issue names is read (the feature excerpt by seeking, the rest
    streamed), measured over the whole file and mastered on target."""
    from pedalboard.io import AudioFile

    from mixai.dsp.truepeak import true_peak_dbtp

    audio = np.concatenate([material.band_loop(40.0), material.sparse_quiet(25.0)], axis=1)  # > 60 s
    path = tmp_path / f"song.{extension}"
    with AudioFile(str(path), "w", samplerate=44100, num_channels=2) as f:
        f.write(audio)
    with AudioFile(str(path)) as f:
        decoded = f.read(f.frames)
    out_path = tmp_path / "song.master.wav"
    report = master_file(path, out_path, predictor="dsp", options=MasterOptions(target_lufs=-16.0))
    assert report.before.integrated_lufs == pytest.approx(material.lufs(decoded), abs=0.05)
    with AudioFile(str(out_path)) as f:
        out = f.read(f.frames)
    assert abs(material.lufs(out) - (-16.0)) <= 0.2
    assert true_peak_dbtp(out) <= -1.0 + 1e-3


def test_atomic_writes_share_one_temporary_pattern(tmp_path):
    """Every writer goes through mixai.io.atomic: one temporary-name pattern that the batch and
    bridge clean-ups recognise, nothing left on failure, normal permissions on success."""
    import os

    from mixai.errors import OutputError
    from mixai.io import atomic

    dest = tmp_path / "song.master.wav"
    tmp = atomic.temporary_path(dest)
    assert tmp.parent == tmp_path and tmp.name.startswith(".song.master.wav.") and tmp.name.endswith(".part.wav")
    assert atomic.is_temporary(tmp) and tmp.match(atomic.temporary_glob(dest.name))
    other = atomic.temporary_path(tmp_path / "other.json")
    keep = [tmp_path / ".hidden.wav", tmp_path / "song.part.wav", tmp_path / "song.master.wav.part"]
    for p in keep:
        p.write_bytes(b"x")
    assert atomic.remove_temporaries(tmp_path, dest_name=dest.name) == [tmp]
    assert other.exists() and all(p.exists() for p in keep)
    assert atomic.remove_temporaries(tmp_path) == [other]

    with pytest.raises(RuntimeError):
        with atomic.atomic_path(dest) as path:
            path.write_bytes(b"half")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in keep)

    reference = tmp_path / "plain.txt"
    reference.write_text("x")  # what an ordinary open() makes under this umask
    written = atomic.write_text_atomic(tmp_path / "settings.json", "{}\n")
    assert written.read_text() == "{}\n"
    assert os.stat(written).st_mode & 0o777 == os.stat(reference).st_mode & 0o777
    with pytest.raises(OutputError, match="already exists"):
        atomic.write_text_atomic(written, "new")
    assert written.read_text() == "{}\n"
    atomic.write_text_atomic(written, "new", overwrite=True)
    assert written.read_text() == "new"
    assert not [p for p in tmp_path.iterdir() if atomic.is_temporary(p)]


def test_discarded_audio_write_leaves_nothing(tmp_path):
    """A final pass that missed its target is discarded: no output, no temporary."""
    out = tmp_path / "x.wav"
    with audio_io.AtomicWriter(out, sample_rate=44100, channels=2) as writer:
        writer.write(np.zeros((2, 4410), np.float32))
        writer.discard()
    assert list(tmp_path.iterdir()) == []
