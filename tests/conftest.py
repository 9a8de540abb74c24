import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import material  # noqa: E402


@pytest.fixture(scope="session")
def loop_wav(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("loop")
    return material.write(folder / "loop.wav", material.band_loop(12.0), subtype="PCM_24")


@pytest.fixture(scope="session")
def chorale(tmp_path_factory):
    audio = material.render_chorale(tmp_path_factory.mktemp("chorale"))
    if audio is None:
        pytest.skip("fluidsynth / fluid-soundfont-gm not installed (scripts/install-system-deps.sh installs them)")
    return audio
