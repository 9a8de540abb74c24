"""Master (or mix) every track under a folder, in parallel, resumably.

* **Items.** ``master`` mode: every audio file under ``IN_DIR`` (recursively) becomes
  ``OUT_DIR/<same relative path>`` (``.wav``, or ``.flac`` for FLAC inputs). ``mix`` mode: every
  folder that directly holds audio files is one song's stems and becomes ``OUT_DIR/<folder>.wav``.
* **Workers.** Local worker *processes* (:class:`~concurrent.futures.ProcessPoolExecutor`, spawn), one
  core each (no helper threads, :mod:`mixai.threads`), or
  a Dask distributed cluster (``dask_address``): workers need the package and the same paths
  (shared storage); each item runs :func:`process_item`, which writes its output atomically and
  measures it (BS.1770 loudness, 4x true peak, frames, size, SHA-256) after writing.
* **Manifest.** ``OUT_DIR/manifest.jsonl`` (:mod:`mixai.manifest`), one JSON object per finished
  item, appended by the coordinating process with a single ``O_APPEND`` write (a line is all there or, after a crash,
  an unparsable tail that is ignored). The last line of an item wins.
* **Resuming.** An item is skipped when its last manifest line says ``ok``, the output still has
  the recorded size and SHA-256, and the input still has the recorded size and SHA-256 (a mix
  item's input is its folder of stems: names, sizes and contents); an item whose input changed
  (or whose record predates input hashes) is redone, and the result says why; ``force`` redoes
  everything. Stale temporaries left by killed
  runs (:func:`mixai.io.atomic.is_temporary`) are deleted at the start. A lock file keeps two
  batches out of one ``OUT_DIR``.
* **Failures.** A bad file is recorded with its error and the rest go on. A worker process that
  dies (killed, out of memory) breaks the local pool: the unfinished items are resubmitted to a
  fresh pool, and an item whose worker died twice is recorded as failed. The batch's result says
  how many failed; the CLI exits 1 if any did.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from mixai.allocator import keep_freed_memory, worker_variables
from mixai.environment import scoped_environment
from mixai.threads import HELPER_THREADS_ENV
from mixai.io.atomic import output_error, remove_temporaries
from mixai.manifest import (MANIFEST_NAME, MANIFEST_VERSION, append_record, file_digest, input_fingerprint,
                            is_audio_file, measure_output, read_manifest, redo_reason)
from mixai.errors import InputError, MixaiError, OutputError, ParameterError
from mixai.master.options import MasterOptions

if TYPE_CHECKING:
    from mixai.predict.target import Predictor

LOCK_NAME = ".mixai-batch.lock"
MODES = ("master", "mix")
MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class BatchItem:
    key: str          # the input relative to IN_DIR (a file, or a folder of stems in mix mode)
    input: str
    output: str
    mode: str


@dataclass(frozen=True)
class BatchConfig:
    """Everything a worker needs (picklable)."""

    mode: str = "master"
    options: MasterOptions = field(default_factory=MasterOptions)
    predictor: str = "auto"
    model_path: str | None = None
    target: str | None = None
    master_predictor: str = "auto"
    master_model_path: str | None = None
    report: bool = False  # a visual report beside each output and an index page, OUT_DIR/report.html


@dataclass
class BatchResult:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    records: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    redone: dict[str, str] = field(default_factory=dict)  # key -> why a finished item is done again
    report: str | None = None  # the index page, with BatchConfig.report

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.interrupted

    def summary(self) -> str:
        text = (f"{self.total} items: {self.done} done, {self.skipped} skipped (already done), "
                f"{self.failed} failed in {self.seconds:.1f} s")
        for key, why in list(self.redone.items())[:20]:
            text += f"\n  redone: {key}: {why}"
        if len(self.redone) > 20:
            text += f"\n  ... and {len(self.redone) - 20} more redone (see the manifest)"
        errors = [r for r in self.records if r.get("status") != "ok"]
        for r in errors[:20]:
            text += f"\n  failed: {r.get('error')}"
        if len(errors) > 20:
            text += f"\n  ... and {len(errors) - 20} more (see the manifest)"
        return text


# --- items ---------------------------------------------------------------------------------------


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_dirs(in_dir: str | os.PathLike, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    src, dst = Path(in_dir), Path(out_dir)
    if not src.is_dir():
        raise InputError(f"{src}: input folder does not exist" if not src.exists() else f"{src}: is not a folder")
    if dst.exists() and not dst.is_dir():
        raise OutputError(f"{dst}: exists and is not a folder")
    if dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output folder is the input folder; choose another one")
    if _inside(src, dst):
        raise OutputError(f"{dst}: the output folder contains the input folder; choose another one")
    return src, dst


def find_items(in_dir: str | os.PathLike, out_dir: str | os.PathLike, mode: str = "master") -> list[BatchItem]:
    """The work list, sorted by key. An output folder inside the input folder is not searched."""
    if mode not in MODES:
        raise ParameterError(f"unknown batch mode {mode!r} (choose from {', '.join(MODES)})")
    src, dst = check_dirs(in_dir, out_dir)
    items = []
    for root, dirs, files in os.walk(src):
        root_p = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside(root_p / d, dst))
        audio = sorted(root_p / f for f in files if is_audio_file(root_p / f))
        if mode == "master":
            for p in audio:
                rel = p.relative_to(src)
                suffix = ".flac" if p.suffix.lower() == ".flac" else ".wav"
                items.append(BatchItem(rel.as_posix(), str(p), str(dst / rel.with_suffix(suffix)), mode))
        elif audio:
            rel = root_p.relative_to(src)
            name = rel.as_posix() if rel.parts else src.resolve().name
            items.append(BatchItem(name, str(root_p), str(dst / f"{name}.wav"), mode))
    # "song.wav" and "song.aiff" in one folder would both become "song.wav": the non-WAV/FLAC
    # ones keep their extension in the name instead ("song.aiff.wav").
    outputs = [i.output for i in items]
    for n, item in enumerate(items):
        if outputs.count(item.output) > 1 and Path(item.input).suffix.lower() not in (".wav", ".flac"):
            items[n] = replace(item, output=str(Path(item.output).with_name(Path(item.input).name + ".wav")))
    items.sort(key=lambda i: i.key)
    return items


# --- one item (runs in a worker) ---------------------------------------------------------------


def process_item(item: BatchItem, config: BatchConfig) -> dict[str, Any]:
    """Master or mix one item; never raises for a bad input (the record says what went wrong)."""
    t0 = time.perf_counter()
    record: dict[str, Any] = {"version": MANIFEST_VERSION, "key": item.key, "mode": item.mode,
                              "input": item.input, "output": item.output, "pid": os.getpid()}
    options = replace(config.options, overwrite=True)  # the batch decided to (re)do this item
    report_html = report_path(item.output) if config.report else None
    try:
        try:
            record.update(input_fingerprint(item.input))  # before the work: what this output was made from
        except OSError as exc:
            raise InputError(f"{item.input}: cannot read it ({exc.strerror})") from None
        try:
            Path(item.output).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(Path(item.output).parent, exc, "create") from None
        if item.mode == "master":
            from mixai.master.pipeline import master_file
            report = master_file(item.input, item.output, predictor=worker_predictor(config),
                                 model_path=config.model_path, target=config.target, options=options,
                                 report_html=report_html)
            record["predictor"] = report.predictor
            record["settings"] = report.settings.to_dict()
        else:
            from mixai.mix import mix_files
            report = mix_files(item.input, item.output, options=options, predictor=config.predictor,
                               model_path=config.model_path, master_predictor=config.master_predictor,
                               master_model_path=config.master_model_path, report_html=report_html)
            record["predictor"] = report.predictor
            record["settings"] = report.settings.to_dict()
            record["warnings"] = report.warnings
        record.update(measure_output(item.output))
        if report_html is not None:
            record["report"] = report_html
        record["status"] = "ok"
    except MixaiError as exc:
        record.update(status="error", error=str(exc))
    except Exception as exc:  # a bug or a library failure on this input: report it, keep going
        record.update(status="error", error=f"{type(exc).__name__}: {exc}")
    record["seconds"] = round(time.perf_counter() - t0, 3)
    return record


@lru_cache(maxsize=4)
def _open_predictor(name: str, model_path: str | None) -> Predictor:
    from mixai.predict import get_predictor

    return get_predictor(name, model_path=model_path)


def worker_predictor(config: BatchConfig) -> Predictor:
    """The mastering predictor of ``config``, opened once per worker process (an ONNX session takes
    longer to open than a short item takes to predict) and shared by its items."""
    return _open_predictor(config.predictor, config.model_path)


def report_path(output: str) -> str:
    """Where an item's visual report goes: beside its output, ``NAME.report.html``."""
    return str(Path(output).with_suffix(".report.html"))


def write_index(out: Path, manifest: Path) -> Path:
    """The batch's index page (:func:`mixai.report.html.batch_page`) over every item's last manifest
    record, linking the reports that exist; the target line is drawn when all items had one target."""
    from mixai.report.html import write_batch_report

    records = sorted(read_manifest(manifest).values(), key=lambda r: r.get("key", ""))
    targets = set()
    for r in records:  # a master's settings, or a mix's (its master's)
        settings = r.get("settings") if r.get("status") == "ok" else None
        output = (settings.get("output") or (settings.get("master") or {}).get("output")) if settings else None
        if isinstance(output, dict) and "target_lufs" in output:
            targets.add(output["target_lufs"])
    target_lufs = targets.pop() if len(targets) == 1 else None
    links = {r["key"]: os.path.relpath(r["report"], out) for r in records
             if r.get("status") == "ok" and r.get("report") and Path(r["report"]).is_file()}
    index = out / "report.html"
    write_batch_report(records, links, index, target_lufs=target_lufs)
    return index


def is_complete(item: BatchItem, record: dict | None) -> bool:
    """Done before: the manifest says ok, the output is the very file that was measured, and the
    input is the one it was made from (:func:`mixai.manifest.redo_reason`)."""
    return redo_reason(item.input, item.output, record) is None


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Temporaries (:mod:`mixai.io.atomic`'s pattern) left anywhere under ``out_dir`` by a killed run."""
    return remove_temporaries(out_dir, recursive=True)


class _Lock:
    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> "_Lock":
        import fcntl

        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise output_error(self.path, exc, "create") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise OutputError(f"{self.path.parent}: another mixai batch is writing to this folder") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


# --- running -------------------------------------------------------------------------------------


Recorder = Callable[[dict], None]


def _worker_init(config: BatchConfig) -> None:
    """Set up a local worker process before its first item: signals, the allocator, and the
    pipeline imported and the predictor opened while the coordinator is still handing out work."""
    import signal
    # Ctrl-C goes to the coordinator, which cancels and stops the workers itself; a worker that is
    # terminated mid-item leaves only its temporary file (removed on the next run).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    if config.mode == "master":
        import mixai.master.pipeline  # noqa: F401 - imported now rather than inside the first item
        try:
            worker_predictor(config)
        except MixaiError:
            pass  # a model that cannot be opened is reported by every item, as without the warm-up
    else:
        import mixai.mix  # noqa: F401


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the workers at once (interrupted: their items are abandoned, their temporaries removed).

    ``ProcessPoolExecutor.terminate_workers`` exists from Python 3.14; before it, the executor's
    process table (a private attribute of the standard library) is the only handle on them.
    """
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()


def _run_local(items: list[BatchItem], config: BatchConfig, jobs: int, record: Recorder) -> None:
    import multiprocessing

    attempts = {i.key: 0 for i in items}
    pending = list(items)
    ctx = multiprocessing.get_context("spawn")
    while pending:
        retry: list[BatchItem] = []
        broken: list[BatchItem] = []
        pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(pending))), mp_context=ctx,
                                   initializer=_worker_init, initargs=(config,))
        try:
            futures = {pool.submit(process_item, item, config): item for item in pending}
            for item in pending:
                attempts[item.key] += 1
            for future in as_completed(futures):
                item = futures[future]
                try:
                    record(future.result())
                except BrokenProcessPool:
                    broken.append(item)
                    if attempts[item.key] < MAX_ATTEMPTS:
                        retry.append(item)
                    else:
                        record({"version": MANIFEST_VERSION, "key": item.key, "mode": item.mode,
                                "input": item.input, "output": item.output, "status": "error",
                                "error": "the worker process died while processing it (twice)"})
        except BaseException:
            _terminate_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True, cancel_futures=True)
        if broken:
            # No worker is alive now, so every temporary beside a lost item's output is an orphan
            # (a worker killed mid-write never reaches its own clean-up).
            for folder in {Path(i.output).parent for i in broken if Path(i.output).parent.is_dir()}:
                remove_stale_temporaries(folder)
        pending = sorted(retry, key=lambda i: i.key)


def _run_dask(items: list[BatchItem], config: BatchConfig, address: Any, record: Recorder) -> None:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:  # pragma: no cover - optional dependency
        raise ParameterError("--dask needs the 'distributed' package (pip install mixai[dist])") from None
    client = address if isinstance(address, Client) else Client(address)
    try:
        futures = client.map(process_item, items, config=config, pure=False, retries=MAX_ATTEMPTS - 1)
        keys = {f.key: item for f, item in zip(futures, items)}
        try:
            for future in dask_completed(futures):
                item = keys[future.key]
                try:
                    record(future.result())
                except Exception as exc:  # KilledWorker and friends: the item, not the batch, failed
                    record({"version": MANIFEST_VERSION, "key": item.key, "mode": item.mode,
                            "input": item.input, "output": item.output, "status": "error",
                            "error": f"dask: {type(exc).__name__}: {exc}"})
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        if not isinstance(address, Client):
            client.close()


def run_batch(in_dir: str | os.PathLike, out_dir: str | os.PathLike, *, config: BatchConfig = BatchConfig(),
              jobs: int = 1, force: bool = False, dask_address: Any = None, progress: bool = False,
              on_record: Recorder | None = None) -> BatchResult:
    """Process every item under ``in_dir`` into ``out_dir``; see the module docstring."""
    if jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}")
    items = find_items(in_dir, out_dir, config.mode)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(out, exc, "create") from None
    manifest = out / MANIFEST_NAME
    result = BatchResult(total=len(items))
    t0 = time.perf_counter()
    with _Lock(out):
        remove_stale_temporaries(out)
        previous = read_manifest(manifest)
        todo = []
        for item in items:
            record = previous.get((item.mode, item.key))
            why = None if force else redo_reason(item.input, item.output, record)
            if not force and why is None:
                result.skipped += 1
                continue
            if record is not None and record.get("status") == "ok":  # finished before, done again: say why
                result.redone[item.key] = "--force" if force else why
            todo.append(item)
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(todo), desc=f"mixai batch ({config.mode})", unit="item")

        def record(rec: dict) -> None:
            if rec.get("key") in result.redone:
                rec["redone_because"] = result.redone[rec["key"]]
            append_record(manifest, rec)
            result.records.append(rec)
            if rec.get("status") == "ok":
                result.done += 1
            else:
                result.failed += 1
            if on_record:
                on_record(rec)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(failed=result.failed)

        try:
            if todo:
                if dask_address is not None:
                    _run_dask(todo, config, dask_address, record)
                else:
                    # One process per core: no nested thread pools and no helper threads in the
                    # workers, so --jobs N keeps N cores busy and never more. The allocator's
                    # settings go in as tunables, huge pages included (mixai.allocator): faults
                    # in one worker slow the other down.
                    workers = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                               HELPER_THREADS_ENV: "0", **worker_variables()}
                    with scoped_environment(workers):
                        _run_local(todo, config, jobs, record)
        except KeyboardInterrupt:
            result.interrupted = True
            if dask_address is None:  # local workers are stopped by now: drop their temporaries
                remove_stale_temporaries(out)
            raise
        finally:
            if bar is not None:
                bar.close()
            result.seconds = time.perf_counter() - t0
        if config.report:
            result.report = str(write_index(out, manifest))
    return result


def iter_records(manifest: str | os.PathLike) -> Iterable[dict]:
    return read_manifest(manifest).values()


__all__ = ["BatchItem", "BatchConfig", "BatchResult", "find_items", "process_item", "run_batch",
           "read_manifest", "append_record", "is_complete", "redo_reason", "input_fingerprint", "measure_output",
           "file_digest", "MANIFEST_NAME", "report_path", "write_index", "worker_predictor"]
