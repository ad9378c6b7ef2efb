"""zkinfer: prove neural-network inference in zero knowledge (halo2, IPA over Pasta).

The package mirrors the Rust library::

    import zkinfer

    model = zkinfer.compile("model.onnx", calibration="calibration.json")
    model.save("model.zkm")                      # the file `zkinfer compile` writes
    outputs = model.run(sample)                  # quantised inference, no proof
    proof = model.prove(sample)                  # keys are built once and kept by `model`
    verified = model.verify(proof)               # what the proof establishes
    open("proof.json", "wb").write(proof.to_json())  # `zkinfer verify model.zkm proof.json` accepts

Inputs are nested lists, numpy arrays or tuples of numbers (flattened row-major), or the path
of an input JSON file (``{"input_data": [[...], ...]}``). Errors are exceptions derived from
:class:`ZkinferError` whose message is the one ``zkinfer`` prints after ``error:``. Proving,
verifying and compiling release the GIL.

A sliced model (``compile(..., max_k=K)``) is proven slice by slice; :mod:`zkinfer.ray` proves
its slices in parallel on a Ray cluster.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Optional, Union

from . import _native
from ._native import (
    ArtifactError,
    AuditError,
    ClaimError,
    CompileError,
    InputError,
    IoError,
    JoinError,
    ModelImportError,
    ParamsError,
    Proof,
    ProveError,
    QuantizeError,
    VerifyError,
    ZkinferError,
)

__version__ = _native.__version__

__all__ = [
    "ArtifactError",
    "AuditError",
    "ClaimError",
    "CompileError",
    "InputError",
    "IoError",
    "JoinError",
    "Model",
    "ModelImportError",
    "ParamsError",
    "Proof",
    "ProveError",
    "QuantizeError",
    "Verified",
    "VerifyError",
    "ZkinferError",
    "compile",
    "link_secret",
    "load",
    "load_proof",
]

PathLike = Union[str, "os.PathLike[str]"]


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


def _flatten(values: Any) -> List[float]:
    """Every number of a nested list, tuple or array, row-major, as floats."""
    if hasattr(values, "__array__"):
        import numpy

        array = numpy.asarray(values)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"an input must hold numbers, not {array.dtype}")
        return array.astype(numpy.float64, copy=False).reshape(-1).tolist()
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        return [float(values)]
    if isinstance(values, (list, tuple)):
        flat: List[float] = []
        for value in values:
            flat.extend(_flatten(value))
        return flat
    raise TypeError(
        f"an input must be a list, tuple or array of numbers, not {type(values).__name__}"
    )


def _samples(values: Any, input_len: int) -> List[List[float]]:
    """Samples from a file, or from numbers: one sample, or several back to back."""
    if _is_path(values):
        return _native.load_samples(os.fspath(values), input_len)
    flat = _flatten(values)
    if input_len > 0 and flat and len(flat) % input_len == 0:
        return [flat[i : i + input_len] for i in range(0, len(flat), input_len)]
    # Not a whole number of samples: the library names the length it expected.
    return [flat]


def _one_sample(value: Any, input_len: int) -> List[float]:
    """One sample: numbers, or the first sample of an input file."""
    if _is_path(value):
        return _native.load_samples(os.fspath(value), input_len)[0]
    return _flatten(value)


def link_secret() -> str:
    """A fresh secret (64 hex digits) for the parts of one sliced proof proven apart.

    Give the same secret to every ``Model.prove(..., slice=i, link_secret=...)`` of one proof,
    keep it from verifiers, and use a fresh one for each proof.
    """
    return _native.link_secret()


def load_proof(path: PathLike) -> Proof:
    """Reads a proof (or part) file written by ``zkinfer prove`` or :meth:`Proof.to_json`."""
    return Proof.load(os.fspath(path))


@dataclass(frozen=True)
class Verified:
    """What a valid proof establishes.

    ``outputs`` (dequantised, one list per output tensor) when the outputs are public,
    ``claim`` (e.g. ``{"argmax": 3}``) for a proof of a claim, the Poseidon commitments it
    binds for hashed values or committed weights, and ``slices`` for a sliced model.
    """

    outputs: Optional[List[List[float]]] = None
    claim: Optional[dict] = None
    input_commitment: Optional[str] = None
    output_commitment: Optional[str] = None
    weights_commitment: Optional[str] = None
    slices: Optional[int] = None
    outputs_quantized: List[List[int]] = field(default_factory=list)
    inputs_quantized: List[List[int]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """Always True: an invalid proof raises :class:`VerifyError` instead."""
        return True

    def to_dict(self) -> dict:
        """The object ``zkinfer verify --json`` prints for this proof."""
        fields: dict = {"verified": True}
        for name in ("input_commitment", "output_commitment", "weights_commitment"):
            if getattr(self, name) is not None:
                fields[name] = getattr(self, name)
        if self.claim is not None:
            fields["claim"] = self.claim
        elif self.outputs is not None:
            fields["outputs"] = self.outputs
        if self.slices is not None:
            fields["slices"] = self.slices
        return fields

    @classmethod
    def _from_json(cls, text: str) -> "Verified":
        fields = json.loads(text)
        return cls(
            outputs=fields.get("outputs"),
            claim=fields.get("claim"),
            input_commitment=fields.get("input_commitment"),
            output_commitment=fields.get("output_commitment"),
            weights_commitment=fields.get("weights_commitment"),
            slices=fields.get("slices"),
            outputs_quantized=fields.get("outputs_quantized", []),
            inputs_quantized=fields.get("inputs_quantized", []),
        )


class Model:
    """A compiled model (the ``.zkm`` file) and the keys built for it.

    Keys are built the first time they are needed (for each claim, and each slice of a sliced
    model) and kept by the object, so later calls only prove. Parameters are cached per ``k``
    in ``cache_dir`` (default: ``$ZKINFER_CACHE_DIR``, else ``~/.cache/zkinfer``, as the
    command line), and the keys' commitments are stored there too unless ``key_cache=False``.
    Use :func:`compile` or :meth:`Model.load` to make one.
    """

    def __init__(self, native: "_native.NativeModel"):
        self._native = native
        self._info: Optional[dict] = None

    # -- files -------------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: PathLike, *, cache_dir: Optional[PathLike] = None, key_cache: bool = True
    ) -> "Model":
        """Reads a ``.zkm`` file written by ``zkinfer compile`` or :meth:`save`."""
        cache = None if cache_dir is None else os.fspath(cache_dir)
        return cls(_native.NativeModel.load(os.fspath(path), cache, key_cache))

    @classmethod
    def from_json(
        cls,
        data: Union[bytes, str],
        *,
        cache_dir: Optional[PathLike] = None,
        key_cache: bool = True,
    ) -> "Model":
        """Reads a compiled model from the contents of a ``.zkm`` file."""
        if isinstance(data, str):
            data = data.encode()
        cache = None if cache_dir is None else os.fspath(cache_dir)
        return cls(_native.NativeModel.from_json(bytes(data), cache, key_cache))

    def to_json(self) -> bytes:
        """The ``.zkm`` file's bytes (what ``zkinfer compile -o`` writes)."""
        return self._native.to_json()

    def save(self, path: PathLike) -> None:
        """Writes the ``.zkm`` file (atomically: a temporary file renamed into place)."""
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(self.to_json())
            os.replace(tmp, path)
        except OSError as e:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise IoError(f"cannot write {path}: {e.strerror or e}") from e

    def verifier_copy(self) -> "Model":
        """For committed weights: the same model without its weights (same verifying key).

        It verifies every proof of the model, but cannot run or prove it.
        """
        return Model(self._native.verifier_copy())

    def __reduce__(self):
        return (
            _restore_model,
            (self.to_json(), os.fspath(self._native.cache_dir), self._native.key_cache),
        )

    # -- what the model is -------------------------------------------------------------

    @property
    def k(self) -> int:
        """log2 of the circuit's rows (of every slice, for a sliced model)."""
        return self._native.k

    @property
    def slices(self) -> Optional[int]:
        """The number of slices of a sliced model, or None for one circuit."""
        return self._native.slices

    @property
    def input_len(self) -> int:
        """Values in one input sample."""
        return self._native.input_len

    @property
    def output_len(self) -> int:
        """Values in the output."""
        return self._native.output_len

    @property
    def input_scale(self) -> int:
        """Input values are quantised to ``round(x · 2^input_scale)``."""
        return self._native.input_scale

    @property
    def output_scale(self) -> int:
        """An output integer ``v`` means ``v · 2^-output_scale``."""
        return self._native.output_scale

    @property
    def input_visibility(self) -> str:
        """What proofs reveal of the input: ``public``, ``private`` or ``hashed``."""
        return self._native.input_visibility

    @property
    def output_visibility(self) -> str:
        """What proofs reveal of the output: ``public``, ``private`` or ``hashed``."""
        return self._native.output_visibility

    @property
    def weights(self) -> str:
        """``fixed`` (bound by the verifying key) or ``committed``."""
        return self._native.weights

    @property
    def weights_commitment(self) -> Optional[str]:
        """The commitment every proof of a model with committed weights carries."""
        return self._native.weights_commitment

    def _details(self) -> dict:
        if self._info is None:
            self._info = json.loads(self._native.info_json())
        return self._info

    @property
    def shape(self) -> str:
        """The circuit shape (column budget) the model is laid out on."""
        return self._details()["shape"]

    @property
    def cost(self) -> dict:
        """The cost report: ``k``, ``rows``, columns, lookups (as ``zkinfer compile`` prints)."""
        return self._details()["cost"]

    @property
    def fidelity(self) -> Optional[dict]:
        """The fidelity report on the calibration samples, if any were given."""
        return self._details()["fidelity"]

    @property
    def warnings(self) -> List[str]:
        """Precision the quantiser had to give up."""
        return self._details()["warnings"]

    @property
    def slice_summaries(self) -> Optional[List[dict]]:
        """For a sliced model, each slice: operators, rows, links, predicted time and memory."""
        return self._details()["slices"]

    def __repr__(self) -> str:
        sliced = f", {self.slices} slices" if self.slices else ""
        return f"<zkinfer.Model k = {self.k}{sliced}, shape {self.shape}>"

    # -- inference, proofs -------------------------------------------------------------

    def run(self, inputs: Any) -> List[List[float]]:
        """Quantised inference, no proof: the dequantised outputs, one list per sample.

        ``inputs`` is one sample or several back to back (numbers), or an input file.
        """
        return self._native.run(_samples(inputs, self.input_len))

    def commitments(self, input: Any) -> dict:
        """The Poseidon commitments a proof of ``input`` would carry for hashed values:
        ``{"input_commitment": ..., "output_commitment": ...}`` (None when not hashed)."""
        i, o = self._native.commitments(_one_sample(input, self.input_len))
        return {"input_commitment": i, "output_commitment": o}

    def prove(
        self,
        input: Any,
        claim: Optional[str] = None,
        slice: Optional[int] = None,
        link_secret: Optional[str] = None,
    ) -> Proof:
        """Proves the model on one sample.

        ``claim`` proves a fact about the output instead of revealing it: ``"argmax"``,
        ``"topk:K"`` or ``"ge:INDEX:VALUE"`` (a false claim raises :class:`ClaimError`).
        For a sliced model, every slice is proven and the proof joined; ``slice=i`` proves
        slice ``i`` only and returns a part for :meth:`join`, linked to the other parts of the
        proof by ``link_secret`` (64 hex digits, the same for every part, see
        :func:`link_secret`; default ``$ZKINFER_LINK_SECRET``, else for a public input a secret
        derived from the model and the input, as ``zkinfer prove --slice``).
        """
        return self._native.prove(
            _one_sample(input, self.input_len), claim, slice, link_secret
        )

    def verify(self, proof: Union[Proof, bytes, PathLike]) -> Verified:
        """Checks a proof (a :class:`Proof`, its JSON bytes, or a proof file) and returns what
        it establishes; raises :class:`VerifyError` (or :class:`ArtifactError` for a malformed
        file) naming what is wrong otherwise."""
        if isinstance(proof, (bytes, bytearray)):
            proof = Proof.from_json(bytes(proof))
        elif _is_path(proof):
            proof = load_proof(proof)
        elif not isinstance(proof, Proof):
            raise TypeError(f"expected a zkinfer.Proof, not {type(proof).__name__}")
        return Verified._from_json(self._native.verify(proof))

    def join(self, parts: Iterable[Proof]) -> Proof:
        """Joins the parts of a sliced model's proof (one per slice, any order) into a proof."""
        parts = list(parts)
        for part in parts:
            if not isinstance(part, Proof):
                raise TypeError(f"expected zkinfer.Proof parts, not {type(part).__name__}")
        return self._native.join(parts)

    def bench(self, input: Any, prove_runs: int = 3) -> dict:
        """Times this model's stages on one sample, with keys built afresh: ``params_ms``,
        ``keygen_ms`` (and ``key_source``: sealed, stored, generated or replaced), ``prove_ms`` (median of
        ``prove_runs``), ``prove_min_ms``, ``slice_prove_ms`` (per slice), ``verify_ms``,
        ``proof_bytes``, ``quantized_us`` (native quantised inference)."""
        if prove_runs < 1:
            raise ValueError("prove_runs must be at least 1")
        return json.loads(self._native.bench(_one_sample(input, self.input_len), prove_runs))

    @property
    def keys_built(self) -> int:
        """How many provers and verifiers (of the model, of a claim's circuit, of a slice) this
        object has built so far: each is built once, when first needed, and kept."""
        return self._native.keys_built

    def clear_keys(self) -> None:
        """Frees the keys built so far (they are built again when needed)."""
        self._native.clear_keys()


def _restore_model(data: bytes, cache_dir: str, key_cache: bool) -> Model:
    return Model.from_json(data, cache_dir=cache_dir, key_cache=key_cache)


def load(
    path: PathLike, *, cache_dir: Optional[PathLike] = None, key_cache: bool = True
) -> Model:
    """Reads a compiled model (``.zkm``); see :class:`Model`."""
    return Model.load(path, cache_dir=cache_dir, key_cache=key_cache)


def compile(
    onnx_path: PathLike,
    calibration: Any = None,
    *,
    max_k: Optional[int] = None,
    slices: Optional[int] = None,
    shape: Optional[str] = None,
    input_visibility: str = "public",
    output_visibility: str = "public",
    weights: str = "fixed",
    activation_bits: int = 10,
    weight_bits: Optional[int] = None,
    table_bits: int = 9,
    cache_dir: Optional[PathLike] = None,
    key_cache: bool = True,
) -> Model:
    """Imports an ONNX model, quantises it and compiles it into a circuit (``zkinfer compile``).

    ``calibration`` (a calibration JSON file, or samples as numbers) chooses the scales; without
    it inputs are assumed to lie in [-1, 1]. ``max_k`` cuts a model needing more than ``2^max_k``
    rows into linked slices (``slices`` asks for a number of them); ``input_visibility`` and
    ``output_visibility`` are ``public``, ``private`` or ``hashed``; ``weights`` is ``fixed`` or
    ``committed``; ``weight_bits`` defaults to 14 (11 for committed weights).
    """
    if calibration is not None and not _is_path(calibration):
        calibration = _native_calibration(calibration)
    elif calibration is not None:
        calibration = os.fspath(calibration)
    return Model(
        _native.compile(
            os.fspath(onnx_path),
            calibration,
            max_k=max_k,
            slices=slices,
            shape=shape,
            input_visibility=input_visibility,
            output_visibility=output_visibility,
            weights=weights,
            activation_bits=activation_bits,
            weight_bits=weight_bits,
            table_bits=table_bits,
            cache_dir=None if cache_dir is None else os.fspath(cache_dir),
            key_cache=key_cache,
        )
    )


def _native_calibration(samples: Any) -> List[List[float]]:
    """Calibration samples as flat lists: a 2-D array or a list of samples, each flattened."""
    if hasattr(samples, "__array__"):
        import numpy

        array = numpy.asarray(samples)
        if array.ndim == 0:
            raise TypeError("calibration must be samples, not one number")
        return [_flatten(row) for row in array.reshape(array.shape[0], -1)]
    if isinstance(samples, (list, tuple)):
        return [_flatten(sample) for sample in samples]
    raise TypeError(
        f"calibration must be a file or a list of samples, not {type(samples).__name__}"
    )
