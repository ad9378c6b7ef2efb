"""Sampled audits of committed batches, as ``zkinfer audit`` runs them::

    from zkinfer import audit

    receipt = audit.commit(model, batch)                    # operator: run and commit
    challenge = audit.challenge(receipt, samples=8)         # verifier: after the receipt
    answer = audit.prove(model, batch, receipt, challenge)  # operator: prove the sample
    audit.verify(model, receipt, challenge, answer)         # {"verified": True, "count", ...}
    audit.plan(count=1000, cheat_fraction=0.01, confidence=0.99)   # 368

Receipts, challenges and audits are dicts with the fields of the command line's files; every
function also takes them as JSON text or bytes, or as the path of such a file. A batch is
numbers (nested lists, a numpy array) or the path of an input file. Failures raise
:class:`AuditError` (naming the sample at fault; a :class:`zkinfer.ZkinferError`) or another
:class:`zkinfer.ZkinferError`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Union

from . import Model, _native, _samples
from ._native import AuditError

Document = Union[dict, str, bytes, "os.PathLike[str]"]


def _text(document: Any) -> str:
    """The JSON text of a receipt, challenge or audit given as a dict, text, bytes or path."""
    if isinstance(document, dict):
        return json.dumps(document)
    if isinstance(document, bytes):
        return document.decode()
    if isinstance(document, str) and document.lstrip().startswith("{"):
        return document
    if isinstance(document, (str, os.PathLike)):
        return Path(document).read_text()
    raise TypeError(f"expected a dict, JSON text or a path, not {type(document).__name__}")


def _batch(model: Model, batch: Any):
    return _samples(batch, model.input_len)


def commit(model: Model, batch: Any) -> dict:
    """Runs every sample (quantised inference, bit-exact) and returns the receipt:
    ``{"count", "root", "outputs", ...}``."""
    return json.loads(_native.audit_commit(model._native, _batch(model, batch)))


def challenge(receipt: Document, samples: int, seed: Union[None, str, bytes] = None) -> dict:
    """Draws ``samples`` distinct indices from the receipt's root and ``seed`` (hex text or
    bytes; 32 random bytes when omitted — keep it secret until the receipt is published)."""
    if isinstance(seed, str):
        seed = bytes.fromhex(seed)
    return json.loads(_native.audit_challenge(_text(receipt), samples, seed))


def prove(model: Model, batch: Any, receipt: Document, challenge: Document) -> dict:
    """Proves every challenged sample (the model's keys are built once and kept) and returns
    the audit: one proof and Merkle path per sample."""
    return json.loads(
        _native.audit_prove(model._native, _batch(model, batch), _text(receipt), _text(challenge))
    )


def verify(
    model: Model,
    receipt: Document,
    challenge: Document,
    audit: Document,
    batch: Any = None,
) -> dict:
    """Checks an audit; returns ``{"verified": True, "count", "sampled", "detection"}`` as
    ``zkinfer audit verify --json`` prints it, or raises. With ``batch``, also checks every
    committed input and receipt output against the root."""
    samples = None if batch is None else _batch(model, batch)
    return json.loads(
        _native.audit_verify(
            model._native, _text(receipt), _text(challenge), _text(audit), samples
        )
    )


def reexecute(model: Model, batch: Any, receipt: Document, challenge: Document) -> dict:
    """Re-runs the challenged samples natively and compares them with the committed leaves;
    returns ``zkinfer audit reexecute --json``'s object (with the re-computed outputs)."""
    return json.loads(
        _native.audit_reexecute(
            model._native, _batch(model, batch), _text(receipt), _text(challenge)
        )
    )


def plan(count: int, cheat_fraction: float, confidence: float) -> int:
    """The smallest sample that catches a cheating fraction of a batch of ``count`` with
    probability at least ``confidence`` (sampling without replacement)."""
    return _native.audit_plan(count, cheat_fraction, confidence)


def detection_probability(count: int, cheat_fraction: float, samples: int) -> float:
    """The probability that ``samples`` of ``count`` catch at least one of the
    ``ceil(cheat_fraction * count)`` falsified results."""
    return _native.audit_detection(count, cheat_fraction, samples)


__all__ = [
    "AuditError",
    "challenge",
    "commit",
    "detection_probability",
    "plan",
    "prove",
    "reexecute",
    "verify",
]
