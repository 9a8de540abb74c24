"""Old import paths keep working after the move into folders (docs/architecture.md).

Every module that moved left a shim at its old path: it re-exports the very same objects from their
new homes and warns once (DeprecationWarning) naming where to import from instead. The modules
whose name became a package (mixai.analysis, mixai.settings, mixai.mix, mixai.cli,
plugin_bridge.handlers) keep every public name they had. Nothing outside the shims imports a shim.
"""

import ast
import importlib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# old module -> its new homes, and the public names it had before the move
SHIMS = {
    "mixai.audio": (("mixai.io.audio",), [
        "READ_SUFFIXES", "WRITE_SUFFIXES", "MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE", "BIT_DEPTHS", "BLOCK_SECONDS",
        "AudioInfo", "probe", "check_sample_rate", "read_blocks", "read_excerpt", "load", "check_output_path",
        "tpdf_dither", "AtomicWriter", "save"]),
    "mixai.framestore": (("mixai.io.framestore",), ["MEMORY_LIMIT_BYTES", "FrameStore", "default_temp_dir"]),
    "mixai.loudness": (("mixai.dsp.loudness", "mixai.dsp.truepeak", "mixai.dsp.streaming"), [
        "ABSOLUTE_GATE_LUFS", "RELATIVE_GATE_LU", "LRA_RELATIVE_GATE_LU", "SILENCE_LUFS", "OVERSAMPLING",
        "db_to_gain", "gain_to_db", "compiled", "GroupReducer", "LoudnessMeter", "SUB_BLOCK", "FFT_FRAME",
        "FFT_SHARE", "stage_pool", "TruePeakDetector", "TruePeakMeter", "integrated_lufs", "true_peak_dbtp"]),
    "mixai.limiter": (("mixai.dsp.limiter",), ["SAFETY_MARGIN_DB", "MAX_MARGIN_DB", "RELEASE_SEGMENT",
                                               "PeakEnvelope", "TruePeakLimiter"]),
    "mixai.chain": (("mixai.dsp.chain",), ["REFERENCE_LUFS", "build_boards", "apply_width", "ChainRenderer",
                                           "render"]),
    "mixai.features": (("mixai.analysis.features",), [
        "FEATURE_VERSION", "BAND_EDGES_HZ", "BAND_FLOOR_DB", "FRAME_SECONDS", "EXCERPT_MAX_SECONDS",
        "FEATURE_NAMES", "FEATURE_COUNT", "Features", "preload", "DC_OFFSET_LIMIT", "offset_above_limit",
        "dc_offset", "extract", "ExcerptSampler"]),
    "mixai.presets": (("mixai.settings.presets",), ["Preset", "PRESETS", "DEFAULT_PRESET", "get_preset"]),
    "mixai.stems": (("mixai.settings.stems", "mixai.mix.roles", "mixai.mix.model"), [
        "MIX_SCHEMA_VERSION", "MIX_KIND", "ROLES", "role_from_name", "role_from_sound", "role_one_hot",
        "MODEL_INPUT_VERSION", "model_input_names", "model_input", "StemSettings", "ReverbBus", "StemEntry",
        "MixSettings", "load_mix_settings", "EQ_BANDS", "EQ_BAND_Q", "STEM_OUTPUTS", "STEM_OUTPUT_NAMES",
        "ROLE_COMP_TIMES_MS", "DEFAULT_COMP_TIMES_MS", "stem_output_metadata", "decode_outputs",
        "encode_outputs", "eq_from_gains", "compressor_for"]),
    "mixai.pipeline": (("mixai.master.pipeline", "mixai.master.options", "mixai.master.report",
                        "mixai.master.render", "mixai.master.gain", "mixai.master.final", "mixai.io.atomic"), [
        "LOUDNESS_TOLERANCE_LU", "ENVELOPE_HEADROOM_DB", "OUT_OF_PHASE_CORRELATION", "MAX_MAKEUP_GAIN_DB",
        "MasterOptions", "MasterReport", "trust_note", "Suggestion", "suggestion", "suggest", "SubBlockPower",
        "master_file", "master_array", "write_text_atomic"]),
    "mixai.mix_cli": (("mixai.cli.mix",), ["add_parser", "run"]),
    "mixai.batch_cli": (("mixai.cli.batch",), ["add_parser", "run"]),
    "plugin_bridge.jobs": (("plugin_bridge.pool", "plugin_bridge.worker", "plugin_bridge.job"), [
        "WORKER_NICENESS", "Busy", "JobConflict", "JobCancelled", "Job", "EventCallback", "WorkerPool",
        "warm_up", "worker_main", "describe_error", "run_job"]),
}

# modules that became packages: the public names they had before
PACKAGES = {
    "mixai.analysis": ["Progress", "Analysis", "CLIP_LEVEL", "CLIP_RUN", "count_clipped_runs",
                       "AnalysisAccumulator", "analyze", "analyze_array"],
    "mixai.settings": ["SCHEMA_VERSION", "LowShelf", "HighShelf", "Peak", "EQ", "HIGHPASS_OFF_HZ", "Compressor",
                       "Stereo", "Reverb", "Output", "PREDICTED_SECTIONS", "Settings", "ParameterSpec",
                       "PARAMETERS", "PARAMETER_NAMES", "neutral_settings", "parse_json", "load_json_file",
                       "load_settings", "scale_settings", "NEUTRAL_SNAP", "snap_to_neutral"],
    "mixai.mix": ["STEMS_MODEL_FILENAME", "STEMS_MODEL_ENV", "SILENT_LUFS", "FEATURE_MAX_SECONDS",
                  "DSP_ROLE_OFFSET_DB", "ROLE_REVERB_SEND", "ROLE_CENTRED", "MixWarning", "StemInfo",
                  "collect_stem_paths", "default_stems_model_path", "StemModel", "MixReport", "mix_files",
                  "mix_arrays"],
    "mixai.cli": ["PRESET_HELP", "build_parser", "cmd_master", "print_report", "cmd_analyze", "cmd_suggest",
                  "COMMANDS", "main"],
    "mixai.predict": ["PREDICTOR_NAMES", "DEFAULT_PROFILE", "Target", "Predictor", "builtin_profiles",
                      "load_profile", "resolve_target", "get_predictor"],
    "plugin_bridge.handlers": ["PREFIX", "MAX_STRING", "MAX_ID", "MAX_ARGS", "MAX_BUNDLE_MESSAGES",
                               "MAX_BUNDLE_DEPTH", "MAX_REPLY_BYTES", "MASTER_OPTION_FIELDS", "BRIDGE_OPTION_KEYS",
                               "SESSION_OPTIONS", "PREDICTORS", "BIT_DEPTHS", "SAMPLE_RATE_RANGE", "Reply", "Send",
                               "BadRequest", "builtin_profiles", "to_json", "TYPE_TAGS", "parse_message", "job_id",
                               "text", "integer", "number", "json_object", "Bridge", "mix_available"],
}


# mixai.training.corpus.rendered before it was split into one module a step (it is no shim: the
# corpus builder stays there and re-exports the steps' names, so no warning)
RENDERED_NAMES = [
    "Arrangement", "CLAP", "CLOSED_HAT", "CRASH", "ChordSpan", "DEBIAN_PACKAGES", "DEFAULT_SOUNDFONT",
    "DRUM_FRACTION", "DRUM_KITS", "DataGenerationError", "FADE_OUT_SECONDS", "FLOOR_TOM", "GeneratorConfig",
    "HIGH_TOM", "Instrument", "KICK", "LIMITER_WINDOW_SECONDS", "LOW_TOM", "MAJOR_PROFILE", "MAX_PARTS",
    "MAX_SOURCE_BYTES", "META_VERSION", "MID_TOM", "MINOR_PROFILE", "MIX_LUFS_RANGE", "Meter", "NoteEvent",
    "OPEN_HAT", "PEAK_CEILING_DBFS", "PEDAL_HAT", "PIECE_DIR_PATTERN", "PieceInfo", "PieceSkipped",
    "RENDER_GAIN", "RIDE", "ROLES", "ROLE_CENTRED", "ROLE_LEVEL_DB", "ROLE_VELOCITY", "SAMPLE_RATE",
    "SIDE_STICK", "SILENT_STEM_LUFS", "SNARE", "SOLO_STRINGS", "SPLITS", "SPLIT_FRACTIONS",
    "STEM_REFERENCE_LUFS", "ScoreData", "SourcePart", "StemInfo", "StemPlan", "TEMPO_RANGES_BPM",
    "TICKS_PER_QUARTER", "Track", "arrange", "bass_part", "build_parser", "build_piece",
    "check_environment", "choose_groove", "choose_pans", "choose_tempo_bpm", "chord_at", "comp_part",
    "corpus_root", "diatonic_triads", "drum_part", "estimate_chords", "estimate_key", "excerpt", "fade_out",
    "fit_register", "generate", "group_parts", "humanize", "iter_pieces", "limiter_envelope",
    "list_sources", "load_score", "loudness_lufs", "main", "master", "meter_from", "midi_bytes",
    "ordered_sources", "pan_gains", "pick_instrument", "pick_roles", "piece_id_for", "piece_rng",
    "pitch_class_weights", "render_stem", "split_for", "voicing", "write_wav"]


def test_the_rendered_corpus_module_keeps_its_names():
    from mixai.training import corpus

    rendered = importlib.import_module("mixai.training.corpus.rendered")
    steps = [importlib.import_module(f"mixai.training.corpus.{m}") for m in (
        "sources", "score", "harmony", "parts", "arrangement", "midi", "synth", "balance", "piece", "layout")]
    missing = [n for n in RENDERED_NAMES if not hasattr(rendered, n)]
    assert not missing, f"mixai.training.corpus.rendered lost {missing}"
    for name in RENDERED_NAMES:
        homes = [s for s in steps if name in getattr(s, "__all__", ())]
        assert len(homes) <= 1 or name == "SPLITS", f"{name} defined in several steps"  # sources re-exports layout's
        if homes:
            assert getattr(rendered, name) is getattr(homes[0], name), f"rendered.{name} is a copy"
    assert corpus.rendered is rendered


@pytest.mark.parametrize("old", sorted(SHIMS))
def test_old_module_reexports_the_same_objects_and_warns(old):
    homes, names = SHIMS[old]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the first import may come from elsewhere
        module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=homes[0].rpartition(".")[0]):
        module = importlib.reload(module)
    new = [importlib.import_module(h) for h in homes]
    for name in names:
        obj = getattr(module, name)
        assert any(getattr(home, name, None) is obj for home in new), f"{old}.{name} is not {homes}'s {name}"


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_modules_that_became_packages_keep_their_names(package):
    module = importlib.import_module(package)
    missing = [name for name in PACKAGES[package] if not hasattr(module, name)]
    assert not missing, f"{package} lost {missing}"


def test_the_public_api_loads_from_the_new_homes():
    """``mixai.X`` (lazy) resolves without touching a deprecated shim."""
    import mixai

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in mixai.__all__:
            assert getattr(mixai, name) is not None
    assert not {m for m in mixai._EXPORTS.values() if m in SHIMS}


def test_nothing_imports_a_shim():
    """The library, the bridge, the benchmarks and the examples use the new paths."""
    shim_files = {ROOT / (m.replace(".", "/") + ".py") for m in SHIMS}
    offenders = []
    folders = ("mixai", "plugin_bridge", "benchmarks", "examples")
    for path in sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py")):
        if path in shim_files or "__pycache__" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if isinstance(node, ast.ImportFrom) and node.module in ("mixai", "plugin_bridge"):
                names = [f"{node.module}.{a.name}" for a in node.names]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n in SHIMS]
    assert not offenders, "imports of deprecated paths:\n" + "\n".join(offenders)
