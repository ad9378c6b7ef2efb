"""Proving on a Ray cluster: the slices of a sliced model in parallel, and many proofs at once.

A model cut into slices (``zkinfer compile --max-k K``) is proven slice by slice, and the slices
are independent jobs: :func:`prove` proves each one as a task of a Ray actor, joins the parts
and returns a :class:`zkinfer.Proof` that ``zkinfer verify`` accepts. :func:`prove_many`
spreads the proofs of many inputs over the cluster and returns them in order.

Workers are actors of a :class:`ProverPool`. Each keeps the models it was sent and the keys of
the slices it proved, and every slice of a model always goes to the same worker (slices are
shared out by their predicted proving time, longest first), so a stream of inputs builds each
slice's keys once. A worker that dies is restarted by Ray and its task retried (Ray's own
``max_restarts`` / ``max_task_retries``); the part it proves then links like any other.

The same calls work on one machine (``ray.init()`` is called for you when Ray is not
initialised) and on a cluster (``address="auto"`` on a node of a cluster started with
``ray start --head`` / ``ray start --address HEAD:6379``, or ``address="ray://HEAD:10001"``).
Every node needs the ``zkinfer`` package installed; the model travels through Ray's object
store, and each node caches parameters and key commitments in its own cache folder.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import ray

import zkinfer

__all__ = ["ProverPool", "prove", "prove_many", "default_pool", "shutdown"]

Progress = Union[bool, None, Callable[[dict], None]]


@ray.remote
class _Worker:
    """One prover process: the models it was sent and the keys it built for them."""

    def __init__(self, cache_dir: Optional[str], key_cache: bool):
        self._cache_dir = cache_dir
        self._key_cache = key_cache
        self._models: Dict[str, zkinfer.Model] = {}
        self._proven: set = set()

    def pid(self) -> int:
        return os.getpid()

    def _model(self, key: str, data: list) -> zkinfer.Model:
        model = self._models.get(key)
        if model is None:
            # `data` is a list holding the ObjectRef, so Ray does not resolve it for a model
            # this worker already holds.
            model = zkinfer.Model.from_json(
                ray.get(data[0]), cache_dir=self._cache_dir, key_cache=self._key_cache
            )
            self._models[key] = model
        return model

    def prove(
        self,
        key: str,
        data: list,
        sample: List[float],
        claim: Optional[str],
        slice: Optional[int],
        link_secret: Optional[str],
        job: Tuple[int, Optional[int]],
        events: Any,
    ) -> bytes:
        """Proves one slice (a part) or the whole model; returns the proof file's bytes."""
        model = self._model(key, data)
        start = time.time()
        if events is not None:
            events.put({"event": "started", "input": job[0], "slice": job[1], "pid": os.getpid()})
        proof = model.prove(sample, claim=claim, slice=slice, link_secret=link_secret)
        self._proven.add((key, slice))
        if events is not None:
            events.put(
                {
                    "event": "proved",
                    "input": job[0],
                    "slice": job[1],
                    "pid": os.getpid(),
                    "seconds": time.time() - start,
                }
            )
        return proof.to_json()

    def keys_kept(self) -> List[Tuple[str, Optional[int]]]:
        """The (model, slice) pairs this worker has proven, whose keys it keeps."""
        return sorted(self._proven, key=lambda p: (p[0], -1 if p[1] is None else p[1]))


def _assign(costs: Sequence[float], workers: int) -> List[int]:
    """The worker of each slice: longest first, each to the least-loaded worker."""
    load = [0.0] * workers
    owner = [0] * len(costs)
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        w = min(range(workers), key=lambda w: (load[w], w))
        owner[i] = w
        load[w] += costs[i]
    return owner


def _printer(total_slices: Optional[int], inputs: int) -> Callable[[dict], None]:
    """Prints progress per slice to stderr, as ``zkinfer prove`` does."""

    def report(event: dict) -> None:
        what = "proof" if event["slice"] is None else f"slice {event['slice'] + 1}/{total_slices}"
        if inputs > 1:
            what = f"input {event['input']}: {what}"
        if event["event"] == "started":
            print(f"{what}: proving on worker pid {event['pid']}…", file=sys.stderr, flush=True)
        elif event["event"] == "proved":
            print(f"{what}: done in {event['seconds']:.2f} s", file=sys.stderr, flush=True)

    return report


class ProverPool:
    """Ray actors that prove slices or whole proofs, each keeping the keys it built.

    ``num_workers`` actors (default: the cluster's CPUs ÷ ``cpus_per_worker``), each reserving
    ``cpus_per_worker`` CPUs and running the prover on that many threads
    (``RAYON_NUM_THREADS``). On a cluster of several machines, set ``cpus_per_worker`` to the
    cores of a machine to run one worker per machine. ``cache_dir`` and ``key_cache`` choose
    where workers cache parameters and key commitments (on their own node). ``max_retries``:
    how often Ray restarts a dead worker and retries its task. Ray is initialised (locally)
    if it is not yet.
    """

    def __init__(
        self,
        num_workers: Optional[int] = None,
        *,
        cpus_per_worker: int = 1,
        cache_dir: Optional[str] = None,
        key_cache: bool = True,
        max_retries: int = 3,
    ):
        if cpus_per_worker < 1:
            raise ValueError("cpus_per_worker must be at least 1")
        _connect(None)
        if num_workers is None:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            num_workers = max(1, cpus // cpus_per_worker)
        if num_workers < 1:
            raise ValueError("num_workers must be at least 1")
        options = dict(
            num_cpus=cpus_per_worker,
            max_restarts=max_retries,
            max_task_retries=max_retries,
            runtime_env={"env_vars": {"RAYON_NUM_THREADS": str(cpus_per_worker)}},
        )
        cache = None if cache_dir is None else os.fspath(cache_dir)
        self._workers = [
            _Worker.options(**options).remote(cache, key_cache) for _ in range(num_workers)
        ]
        self._models: Dict[str, Tuple[zkinfer.Model, Any, List[int]]] = {}
        self._lock = threading.Lock()
        self._next = 0

    @property
    def num_workers(self) -> int:
        return len(self._workers)

    def pids(self) -> List[int]:
        """The process id of each worker (for monitoring; a restarted worker has a new one)."""
        return ray.get([w.pid.remote() for w in self._workers])

    def keys_kept(self) -> List[List[Tuple[str, Optional[int]]]]:
        """Per worker, the (model digest, slice) pairs whose keys it keeps."""
        return ray.get([w.keys_kept.remote() for w in self._workers])

    def shutdown(self) -> None:
        """Ends the workers (their keys go with them)."""
        for worker in self._workers:
            ray.kill(worker, no_restart=True)
        self._workers = []

    def _load(self, model: Union[str, "os.PathLike[str]", zkinfer.Model]):
        """The model, its object-store reference and the worker of each slice (cached)."""
        if isinstance(model, zkinfer.Model):
            data = model.to_json()
        else:
            try:
                with open(model, "rb") as f:
                    data = f.read()
            except OSError:
                zkinfer.load(model)  # raises zkinfer.IoError with the command line's message
                raise
        key = hashlib.blake2b(data, digest_size=16).hexdigest()
        with self._lock:
            if key not in self._models:
                if isinstance(model, zkinfer.Model):
                    loaded = model
                else:
                    loaded = zkinfer.Model.from_json(data)
                summaries = loaded.slice_summaries or []
                owners = _assign([s["predicted_prove_ms"] for s in summaries], self.num_workers)
                self._models[key] = (loaded, ray.put(data), owners)
            return (key,) + self._models[key]

    def prove(
        self,
        model: Union[str, "os.PathLike[str]", zkinfer.Model],
        input: Any,
        *,
        claim: Optional[str] = None,
        progress: Progress = True,
    ) -> zkinfer.Proof:
        """Proves one input; see :func:`zkinfer.ray.prove`."""
        return self.prove_many(model, [input], claim=claim, progress=progress, _one=True)[0]

    def prove_many(
        self,
        model: Union[str, "os.PathLike[str]", zkinfer.Model],
        inputs: Any,
        *,
        claim: Optional[str] = None,
        progress: Progress = True,
        _one: bool = False,
    ) -> List[zkinfer.Proof]:
        """Proves many inputs (one task per slice of a sliced model, else one per proof) and
        returns the proofs in the order of ``inputs``; see :func:`zkinfer.ray.prove_many`."""
        if not self._workers:
            raise RuntimeError("the pool was shut down")
        key, loaded, ref, owners = self._load(model)
        if _one:
            samples = [zkinfer._one_sample(inputs[0], loaded.input_len)]
        else:
            samples = zkinfer._samples(inputs, loaded.input_len)
        # Check every input, and the claim, before any work is sent out.
        for sample in samples:
            loaded.run(sample)
        report = _progress(progress, loaded.slices, len(samples))
        events = _events() if report is not None else None
        data = [ref]
        tasks = []  # (input, slice, ObjectRef)
        for n, sample in enumerate(samples):
            if loaded.slices:
                secret = zkinfer.link_secret()
                for s in range(loaded.slices):
                    worker = self._workers[owners[s]]
                    part = worker.prove.remote(key, data, sample, claim, s, secret, (n, s), events)
                    tasks.append((n, s, part))
            else:
                with self._lock:
                    worker = self._workers[self._next % len(self._workers)]
                    self._next += 1
                whole = worker.prove.remote(key, data, sample, claim, None, None, (n, None), events)
                tasks.append((n, None, whole))
        results = _gather([t[2] for t in tasks], events, report)
        proofs: List[List[zkinfer.Proof]] = [[] for _ in samples]
        for (n, _, _), data_bytes in zip(tasks, results):
            proofs[n].append(zkinfer.Proof.from_json(data_bytes))
        if loaded.slices:
            return [loaded.join(parts) for parts in proofs]
        return [parts[0] for parts in proofs]


def _progress(
    progress: Progress, slices: Optional[int], inputs: int
) -> Optional[Callable[[dict], None]]:
    if progress is True:
        return _printer(slices, inputs)
    if callable(progress):
        return progress
    return None


def _events():
    """A queue the workers put progress events in (an actor that reserves no CPU)."""
    from ray.util.queue import Queue

    return Queue(actor_options={"num_cpus": 0})


def _gather(refs: list, events: Any, report: Optional[Callable[[dict], None]]) -> list:
    """Waits for every task, reporting progress events as they come; the results in order."""
    pending = list(refs)
    try:
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.05)
            if events is not None:
                _drain(events, report)
        if events is not None:
            _drain(events, report)
        try:
            return ray.get(refs)
        except ray.exceptions.RayTaskError as e:
            # A zkinfer error in a worker: raise it as such, with its own message.
            if isinstance(e.cause, zkinfer.ZkinferError):
                raise e.cause from None
            raise
    finally:
        if events is not None:
            events.shutdown()


def _drain(events: Any, report: Callable[[dict], None]) -> None:
    while True:
        try:
            batch = events.get_nowait_batch(events.qsize())
        except Exception:
            return
        if not batch:
            return
        for event in batch:
            report(event)


_default: Dict[tuple, ProverPool] = {}


def _connect(address: Optional[str]) -> None:
    if not ray.is_initialized():
        ray.init(address=address)


def default_pool(
    address: Optional[str] = None,
    *,
    num_workers: Optional[int] = None,
    cpus_per_worker: int = 1,
    **options: Any,
) -> ProverPool:
    """The pool :func:`prove` and :func:`prove_many` use: made on first use and kept (with its
    workers' keys) for later calls with the same settings in the same Ray session."""
    _connect(address)
    context = ray.get_runtime_context()
    session = (context.get_job_id(), context.get_node_id())
    settings = (session, num_workers, cpus_per_worker, tuple(sorted(options.items())))
    pool = _default.get(settings)
    if pool is None:
        pool = ProverPool(num_workers, cpus_per_worker=cpus_per_worker, **options)
        _default[settings] = pool
    return pool


def shutdown() -> None:
    """Ends the workers of the default pools."""
    for pool in _default.values():
        try:
            pool.shutdown()
        except Exception:
            pass
    _default.clear()


def prove(
    model_path: Union[str, "os.PathLike[str]", zkinfer.Model],
    input: Any,
    address: Optional[str] = None,
    *,
    claim: Optional[str] = None,
    num_workers: Optional[int] = None,
    cpus_per_worker: int = 1,
    progress: Progress = True,
    pool: Optional[ProverPool] = None,
    **options: Any,
) -> zkinfer.Proof:
    """Proves one inference of a compiled model (``.zkm``) on Ray and returns the proof.

    For a sliced model every slice is a Ray task on a worker that keeps that slice's keys; the
    parts share a fresh link secret and are joined into one proof (``zkinfer verify`` accepts
    it). ``input``: numbers, an array, or an input file (its first sample). ``address``: the
    cluster to connect to when Ray is not initialised yet (``None``: a local Ray on this
    machine; ``"auto"``: the cluster this node belongs to). ``progress``: True prints one line
    per slice started and proven to stderr; a callable receives each event as a dict
    (``event``: ``started`` or ``proved``, ``slice``, ``input``, ``pid``, ``seconds``).
    ``pool``, or ``num_workers`` / ``cpus_per_worker`` / ``cache_dir`` / ``key_cache`` /
    ``max_retries``, choose the workers (see :class:`ProverPool`).
    """
    if pool is None:
        pool = default_pool(
            address, num_workers=num_workers, cpus_per_worker=cpus_per_worker, **options
        )
    return pool.prove(model_path, input, claim=claim, progress=progress)


def prove_many(
    model_path: Union[str, "os.PathLike[str]", zkinfer.Model],
    inputs: Any,
    address: Optional[str] = None,
    *,
    claim: Optional[str] = None,
    num_workers: Optional[int] = None,
    cpus_per_worker: int = 1,
    progress: Progress = False,
    pool: Optional[ProverPool] = None,
    **options: Any,
) -> List[zkinfer.Proof]:
    """Proves many inferences on Ray, for throughput; returns the proofs in input order.

    ``inputs``: samples back to back (numbers, a 2-D array, a list of samples) or an input
    file. A model proven as one circuit gets one task per proof, spread over the workers
    (each builds the keys once); a sliced model one task per slice of each input, each slice
    on its own worker as in :func:`prove`. Other arguments as :func:`prove`.
    """
    if pool is None:
        pool = default_pool(
            address, num_workers=num_workers, cpus_per_worker=cpus_per_worker, **options
        )
    return pool.prove_many(model_path, inputs, claim=claim, progress=progress)
