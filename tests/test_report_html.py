"""The visual report (--report FILE.html): one self-contained page that parses, whose every image
decodes and shows something, whose every number is the JSON report's, and that a real headless
browser (chromium) opens and draws."""

from __future__ import annotations

import base64
import io
import json
import math
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from PIL import Image

import material
from mixai.batch import BatchConfig, run_batch
from mixai.errors import OutputError
from mixai.master.options import MasterOptions
from mixai.master.pipeline import master_file
from mixai.mix import mix_files
from mixai.settings.scaling import apply_amounts

ROOT = Path(__file__).resolve().parents[1]
AFTER_RGB = (0x1F, 0x6F, 0xB4)  # mixai.report.plots.AFTER: the output's curves


class Page(HTMLParser):
    """What a test reads from a report: images, numbers by data-key, links, tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[tuple[str, str]] = []  # (alt, src)
        self.values: dict[str, str] = {}
        self.links: list[str] = []
        self.tags: set[str] = set()
        self._key: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append((a.get("alt", ""), a["src"]))
        if tag == "a":
            self.links.append(a["href"])
        if "data-key" in a:
            self._key, self._text = a["data-key"], []

    def handle_data(self, data):
        if self._key is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._key is not None and tag in ("td", "span", "li"):
            self.values[self._key] = "".join(self._text)
            self._key = None


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def lookup(data, dotted: str):
    for part in dotted.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def check_images(page: Page, expected: int) -> None:
    """Every image is an inline PNG that decodes and is not blank (pixel variance)."""
    assert len(page.images) == expected, [alt for alt, _ in page.images]
    for alt, src in page.images:
        assert src.startswith("data:image/png;base64,"), alt
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L"), float)
        assert pixels.shape[0] > 100 and pixels.shape[1] > 300, alt
        assert pixels.std() > 5.0, f"{alt}: blank image"


def check_self_contained(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text
    assert 'src="http' not in text and "url(" not in text


def check_numbers(page: Page, data: dict, applied: dict | None = None) -> int:
    """Every number shown equals the JSON's (written as JSON writes it)."""
    checked = 0
    for key, text in page.values.items():
        if ".applied." in f".{key}":  # what the chain ran with: the settings at their amounts
            where, _, rest = key.partition("applied.")
            expected = lookup(applied, where + rest) if where else lookup(applied, rest)
        else:
            expected = lookup(data, key)
        if isinstance(expected, (int, float)) and not isinstance(expected, bool):
            assert float(text) == float(expected), key
            checked += 1
        elif expected is None:
            assert text == "null", key
        else:
            assert text == str(expected), key
    return checked


@pytest.fixture(scope="module")
def mastered(tmp_path_factory):
    """One master with a reference track and a visual report."""
    d = tmp_path_factory.mktemp("report")
    song = material.write(d / "song.wav", material.band_loop(10.0), subtype="PCM_24")
    reference = material.write(d / "reference.wav", material.dense_loud(8.0), subtype="PCM_24")
    out, html_path = d / "song.master.wav", d / "song.report.html"
    report = master_file(song, out, target=reference, options=MasterOptions(eq_amount=0.5),
                         report_html=html_path)
    return report, out, html_path


def test_master_report_parses_images_decode_numbers_match(mastered):
    report, out, html_path = mastered
    check_self_contained(html_path)
    page = parse(html_path)
    check_images(page, 3)  # spectrum, loudness over time, true peak + limiting
    data = json.loads(json.dumps(report.to_dict()))
    checked = check_numbers(page, data, apply_amounts(report.settings).to_dict())
    assert checked > 30
    for key in ("after.integrated_lufs", "after.true_peak_dbtp", "before.loudness.integrated_lufs",
                "settings.output.target_lufs", "model_trust", "settings.amounts.eq", "applied.eq.low_shelf.gain_db"):
        assert key in page.values, key
    assert report.timeline.reference is not None  # the reference's spectrum joins the plot


def test_master_report_curves_measure_the_files(mastered):
    """The plotted curves are measurements of the real signals: the output's short-term loudness
    sits at the integrated loudness pyloudnorm reads from the written file; its true-peak curve
    stays under the ceiling; the spectrum difference shows the EQ (half of it, eq_amount 0.5)."""
    report, out, _ = mastered
    audio, sr = sf.read(out, always_2d=True)
    measured = pyloudnorm.Meter(sr).integrated_loudness(audio)
    t = report.timeline
    assert abs(float(np.median(t.after.short_term_lufs)) - measured) < 1.0
    assert float(t.after.true_peak_dbtp.max()) <= report.settings.output.ceiling_dbtp + 0.1
    assert abs(float(t.after.true_peak_dbtp.max()) - report.after["true_peak_dbtp"]) < 0.3
    assert t.limiting_db.size == math.ceil(audio.shape[0] / (sr // 10))
    assert abs(float(t.limiting_db.max()) - report.max_limiting_db) < 1e-6
    assert t.before.short_term_lufs.size == t.after.short_term_lufs.size


def test_report_opens_in_headless_chromium(mastered, tmp_path):
    """A real browser draws the page: the screenshot has the page's height of content and the
    output's curve colour, which only the decoded inline plots contain."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium not installed (scripts/install-system-deps.sh installs it)")
    _, _, html_path = mastered
    shot = tmp_path / "shot.png"
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1000,2400", f"--screenshot={shot}", html_path.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert rgb.shape[:2] == (2400, 1000)
    assert rgb.std() > 10.0
    curve = np.all(np.abs(rgb - np.array(AFTER_RGB)) <= 12, axis=2)
    assert curve.sum() > 2000, "the plots were not drawn"
    rows = np.flatnonzero(curve.any(axis=1))
    assert rows.max() - rows.min() > 1000  # curves in several plots down the page


def test_matplotlib_only_with_a_report(tmp_path):
    song = material.write(tmp_path / "song.wav", material.band_loop(3.0))
    code = ("import sys; from mixai.master.pipeline import master_file; "
            f"master_file({str(song)!r}, {str(tmp_path / 'out.wav')!r}); "
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr[-2000:]


def test_cli_master_report_and_bad_paths(tmp_path):
    song = material.write(tmp_path / "song.wav", material.band_loop(3.0))
    mixai = [sys.executable, "-m", "mixai"]
    run = lambda *a: subprocess.run([*mixai, *a], capture_output=True, text=True, cwd=ROOT, timeout=300)  # noqa: E731
    done = run("master", str(song), "-o", str(tmp_path / "out.wav"), "--report", str(tmp_path / "r.html"), "-q")
    assert done.returncode == 0, done.stderr
    check_images(parse(tmp_path / "r.html"), 3)
    for bad in ("r.txt", "out.wav"):
        done = run("master", str(song), "-o", str(tmp_path / "out2.wav"), "--report", str(tmp_path / bad))
        assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "out2.wav").exists() and not (tmp_path / "r.txt").exists()
    done = run("master", str(song), "-o", str(tmp_path / "out3.wav"), "--report", str(tmp_path / "r.html"))
    assert done.returncode != 0 and "already exists" in done.stderr


def test_dry_run_report_shows_the_input(tmp_path):
    song = material.write(tmp_path / "song.wav", material.band_loop(4.0))
    report = master_file(song, None, dry_run=True, report_html=tmp_path / "dry.html")
    page = parse(tmp_path / "dry.html")
    check_images(page, 2)  # spectrum and loudness of the input; no output to show peaks of
    check_numbers(page, json.loads(json.dumps(report.to_dict())), apply_amounts(report.settings).to_dict())


def _stems(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(3)
    loop = material.band_loop(4.0)
    material.write(folder / "drums.wav", loop * 0.8)
    material.write(folder / "bass.wav", (0.2 * np.sin(2 * np.pi * 55 * np.arange(loop.shape[1]) / material.SR)
                                         )[None, :].astype(np.float32))
    material.write(folder / "keys.wav", (0.05 * rng.standard_normal(loop.shape)).astype(np.float32))
    return folder


def test_mix_report(tmp_path):
    stems = _stems(tmp_path / "stems")
    report = mix_files(stems, tmp_path / "mix.wav", predictor="dsp", report_html=tmp_path / "mix.html")
    page = parse(tmp_path / "mix.html")
    check_self_contained(tmp_path / "mix.html")
    check_images(page, 3)  # the master of the sum
    data = json.loads(json.dumps(report.to_dict()))
    for i in range(3):
        assert f"settings.stems.{i}.gain_db" in page.values
    # every key is a path in the mix's JSON; the master of the sum's under "master."
    assert "master.after.integrated_lufs" in page.values
    applied = {"master": apply_amounts(report.master.settings).to_dict()}
    checked = check_numbers(page, data, applied)
    assert checked > 40
    with pytest.raises(OutputError):
        mix_files(stems, tmp_path / "mix2.wav", predictor="dsp", report_html=tmp_path / "mix.wav")


def test_batch_index_links_item_reports(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        material.write(src / f"t{i}.wav", material.band_loop(3.0, seed=i))
    (src / "broken.wav").write_bytes(b"not audio")
    out = tmp_path / "out"
    result = run_batch(src, out, config=BatchConfig(predictor="dsp", report=True), jobs=1)
    assert result.report == str(out / "report.html")
    page = parse(out / "report.html")
    check_images(page, 1)
    assert sorted(page.links) == ["t0.report.html", "t1.report.html"]
    for link in page.links:
        check_images(parse(out / link), 3)
    records = sorted((json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()),
                     key=lambda r: r["key"])
    items = {"items": [{"lufs": None, "true_peak_dbtp": None, **r} for r in records]}  # null: not measured
    assert check_numbers(page, items) >= 6
    assert page.values["items.0.status"] == "error"
