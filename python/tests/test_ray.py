"""Proving on Ray, on a local cluster that listens on 127.0.0.1 only (see conftest.ray_cluster):
slices as tasks of workers that keep their keys, many proofs in order, errors, and a worker
killed while it proves a slice."""

from __future__ import annotations

import ipaddress
import json
import os
import signal

import pytest

import zkinfer
from conftest import FIXTURES, MLP, run_cli, samples

pytest.importorskip("ray")
import zkinfer.ray  # noqa: E402  (needs ray)

INPUT = MLP / "input.json"


@pytest.fixture
def pool(ray_cluster):
    """Two workers of one CPU each, ended after the test (they hold the cluster's CPUs)."""
    workers = zkinfer.ray.ProverPool(num_workers=2)
    try:
        yield workers
    finally:
        workers.shutdown()


def test_cluster_listens_on_loopback_only(ray_cluster):
    for node in ray_cluster.nodes():
        assert ipaddress.ip_address(node["NodeManagerAddress"]).is_loopback
    assert ray_cluster.cluster_resources()["CPU"] == 2


def test_slices_are_proven_as_tasks_and_joined(pool, mlp_sliced, models_dir, tmp_path,
                                               zkinfer_bin):
    events = []
    proof = pool.prove(models_dir / "mlp3.zkm", INPUT, progress=events.append)
    assert proof.slices == [0, 1, 2] and not proof.is_part
    assert mlp_sliced.verify(proof).outputs == mlp_sliced.run(INPUT)
    path = tmp_path / "ray-proof.json"
    path.write_bytes(proof.to_json())
    out = run_cli(zkinfer_bin, "verify", models_dir / "mlp3.zkm", path, "--json")
    assert json.loads(out.stdout)["verified"] is True
    # Progress: every slice started and proven, on both workers.
    assert sorted(e["slice"] for e in events if e["event"] == "started") == [0, 1, 2]
    assert sorted(e["slice"] for e in events if e["event"] == "proved") == [0, 1, 2]
    assert len({e["pid"] for e in events}) == 2
    assert all(e["seconds"] > 0 for e in events if e["event"] == "proved")


def test_workers_keep_the_keys_of_their_slices(pool, models_dir):
    first, second = [], []
    pool.prove(models_dir / "mlp3.zkm", INPUT, progress=first.append)
    pool.prove(models_dir / "mlp3.zkm", samples(MLP / "calibration.json")[1],
               progress=second.append)
    worker_of = lambda events: {e["slice"]: e["pid"] for e in events if e["event"] == "proved"}
    assert worker_of(first) == worker_of(second)  # each slice stays with its worker
    kept = pool.keys_kept()
    assert sorted(s for worker in kept for _, s in worker) == [0, 1, 2]
    assert all(worker for worker in kept)


def test_prove_many_returns_proofs_in_order(pool, mlp, mlp_sliced, models_dir):
    inputs = samples(MLP / "calibration.json")[:4]
    for name, model in (("mlp3.zkm", mlp_sliced), ("mlp.zkm", mlp)):
        proofs = pool.prove_many(models_dir / name, inputs, progress=False)
        assert len(proofs) == 4
        expected = [model.run(sample)[0] for sample in inputs]
        assert [model.verify(p).outputs[0] for p in proofs] == expected
    import numpy

    proofs = pool.prove_many(models_dir / "mlp.zkm", numpy.array(inputs[:2]))
    assert [mlp.verify(p).outputs[0] for p in proofs] == [mlp.run(s)[0] for s in inputs[:2]]


def test_claims_and_errors_through_ray(pool, mlp_sliced, models_dir):
    proof = pool.prove(models_dir / "mlp3.zkm", INPUT, claim="argmax", progress=False)
    assert list(mlp_sliced.verify(proof).claim) == ["argmax"]
    with pytest.raises(zkinfer.InputError, match="has 3 values"):
        pool.prove(models_dir / "mlp3.zkm", [1.0, 2.0, 3.0], progress=False)
    with pytest.raises(zkinfer.ClaimError, match="the claim is false"):
        pool.prove(models_dir / "mlp3.zkm", INPUT, claim="ge:0:1000", progress=False)
    with pytest.raises(zkinfer.IoError, match="cannot read .*missing.zkm"):
        pool.prove(models_dir / "missing.zkm", INPUT, progress=False)


def test_module_functions_use_the_running_cluster(ray_cluster, mlp_sliced, models_dir,
                                                  capsys):
    try:
        proof = zkinfer.ray.prove(models_dir / "mlp3.zkm", INPUT, num_workers=2)
        assert mlp_sliced.verify(proof).slices == 3
        assert "slice 3/3: done in" in capsys.readouterr().err
        proofs = zkinfer.ray.prove_many(models_dir / "mlp3.zkm", MLP / "input.json",
                                        num_workers=2)
        assert mlp_sliced.verify(proofs[0]).outputs == mlp_sliced.run(INPUT)
    finally:
        zkinfer.ray.shutdown()


def test_a_worker_killed_while_proving_a_slice_is_retried(ray_cluster, tmp_path, zkinfer_bin):
    lenet = FIXTURES / "lenet5"
    model = zkinfer.compile(lenet / "model.onnx", calibration=lenet / "calibration.json",
                            max_k=9)
    assert model.slices >= 2
    model.save(tmp_path / "lenet.zkm")
    pool = zkinfer.ray.ProverPool(num_workers=2, max_retries=2)
    try:
        before = set(pool.pids())
        killed = []
        events = []

        def kill_first_started(event):
            events.append(event)
            if event["event"] == "started" and not killed:
                os.kill(event["pid"], signal.SIGKILL)  # mid-slice: keys are being built
                killed.append((event["pid"], event["slice"]))

        proof = pool.prove(tmp_path / "lenet.zkm", lenet / "input.json",
                           progress=kill_first_started)
        [(pid, slice_index)] = killed
        # Ray restarted the worker and retried its slice on it.
        starts = [e for e in events if e["event"] == "started" and e["slice"] == slice_index]
        assert len(starts) == 2 and starts[1]["pid"] != pid
        after = set(pool.pids())
        assert pid in before and pid not in after
        assert model.verify(proof).outputs == model.run(lenet / "input.json")
        path = tmp_path / "proof.json"
        path.write_bytes(proof.to_json())
        out = run_cli(zkinfer_bin, "verify", tmp_path / "lenet.zkm", path, "--json")
        assert json.loads(out.stdout)["slices"] == model.slices
    finally:
        pool.shutdown()
