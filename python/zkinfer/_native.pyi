"""Type stubs of the extension module built from python/src (PyO3)."""

from os import PathLike
from typing import List, Optional, Tuple, Union

__version__: str

_Path = Union[str, PathLike[str]]

class ZkinferError(Exception):
    """Any zkinfer error; str(e) is the message `zkinfer` prints after `error:`."""

class ModelImportError(ZkinferError):
    """The ONNX model cannot be imported (every unsupported node is named)."""

class QuantizeError(ZkinferError):
    """The model cannot be quantised."""

class CompileError(ZkinferError):
    """The quantised model does not fit a circuit (or cannot be sliced as asked)."""

class InputError(ZkinferError):
    """An input cannot be used: wrong length, NaN, a value beyond the circuit's range."""

class ProveError(ZkinferError):
    """Proving failed."""

class VerifyError(ZkinferError):
    """The proof is invalid: the message names the field, slice or link at fault."""

class ArtifactError(ZkinferError):
    """A compiled model or proof is malformed, or of another format or version."""

class ParamsError(ZkinferError):
    """Public parameters cannot be loaded or stored."""

class ClaimError(ZkinferError):
    """A claim about the output cannot be parsed, made (it is false) or checked."""

class JoinError(ZkinferError):
    """The parts of a sliced proof cannot be joined (missing, repeated or foreign)."""

class AuditError(ZkinferError):
    """A sampled audit failed or cannot be made: the message names the sample at fault."""

class IoError(ZkinferError):
    """A file cannot be read or written."""

class Proof:
    """A proof of one inference, or a part (the proof of one slice of a sliced model).

    `to_json()` gives exactly the bytes of the command line's proof files.
    """

    @staticmethod
    def from_json(data: bytes) -> Proof:
        """Reads a proof (or part) from the bytes of its JSON file."""
    @staticmethod
    def load(path: _Path) -> Proof:
        """Reads a proof (or part) file; errors name the file."""
    def to_json(self) -> bytes:
        """The proof file's bytes: the same as `zkinfer prove -o PROOF.json` writes."""
    @property
    def is_part(self) -> bool:
        """Whether this is a part (the proof of one slice, to be joined)."""
    @property
    def model_digest(self) -> str:
        """The digest of the model (or sliced model) the proof is for."""
    @property
    def k(self) -> int:
        """log2 of the circuit's rows (of every slice, for a sliced model)."""
    @property
    def inputs(self) -> List[List[int]]:
        """The public inputs, quantised (one list per tensor; empty when not public)."""
    @property
    def outputs(self) -> List[List[int]]:
        """The public outputs, quantised (empty for a proof of a claim or a private output)."""
    @property
    def claim(self) -> Optional[dict]:
        """The claim the proof makes about the output (`{"argmax": 3}`), or None."""
    @property
    def input_commitment(self) -> Optional[str]:
        """The commitment to a hashed input (hex), or None."""
    @property
    def output_commitment(self) -> Optional[str]:
        """The commitment to a hashed output (hex), or None."""
    @property
    def weights_commitment(self) -> Optional[str]:
        """The commitment to committed weights (hex), or None."""
    @property
    def slices(self) -> List[int]:
        """The indices of the slices the proof holds (empty for one circuit)."""
    @property
    def transcript_bytes(self) -> int:
        """Bytes of halo2 transcript (all slices')."""
    def __eq__(self, other: object) -> bool: ...
    def __reduce__(self) -> tuple: ...

class NativeModel:
    """A compiled model and the keys built for it (wrapped by `zkinfer.Model`)."""

    @staticmethod
    def from_json(
        data: bytes, cache_dir: Optional[str] = None, key_cache: bool = True
    ) -> NativeModel: ...
    @staticmethod
    def load(path: _Path, cache_dir: Optional[str] = None, key_cache: bool = True) -> NativeModel: ...
    def to_json(self) -> bytes: ...
    def verifier_copy(self) -> NativeModel: ...
    k: int
    slices: Optional[int]
    input_len: int
    output_len: int
    input_scale: int
    output_scale: int
    input_visibility: str
    output_visibility: str
    weights: str
    weights_commitment: Optional[str]
    cache_dir: str
    key_cache: bool
    keys_built: int
    def info_json(self) -> str: ...
    def run(self, samples: List[List[float]]) -> List[List[float]]: ...
    def commitments(self, sample: List[float]) -> Tuple[Optional[str], Optional[str]]: ...
    def prove(
        self,
        sample: List[float],
        claim: Optional[str] = None,
        slice: Optional[int] = None,
        link_secret: Optional[str] = None,
    ) -> Proof: ...
    def verify(self, proof: Proof) -> str: ...
    def join(self, parts: List[Proof]) -> Proof: ...
    def bench(self, sample: List[float], prove_runs: int = 3) -> str: ...
    def clear_keys(self) -> None: ...

def compile(
    onnx_path: _Path,
    calibration: Union[None, _Path, List[List[float]]] = None,
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
    cache_dir: Optional[str] = None,
    key_cache: bool = True,
) -> NativeModel: ...
def link_secret() -> str: ...
def load_samples(path: _Path, input_len: int) -> List[List[float]]: ...
def audit_commit(model: NativeModel, batch: List[List[float]]) -> str: ...
def audit_challenge(receipt_json: str, samples: int, seed: Optional[bytes] = None) -> str: ...
def audit_prove(
    model: NativeModel, batch: List[List[float]], receipt_json: str, challenge_json: str
) -> str: ...
def audit_verify(
    model: NativeModel,
    receipt_json: str,
    challenge_json: str,
    audit_json: str,
    batch: Optional[List[List[float]]] = None,
) -> str: ...
def audit_reexecute(
    model: NativeModel, batch: List[List[float]], receipt_json: str, challenge_json: str
) -> str: ...
def audit_plan(count: int, cheat_fraction: float, confidence: float) -> int: ...
def audit_detection(count: int, cheat_fraction: float, samples: int) -> float: ...
