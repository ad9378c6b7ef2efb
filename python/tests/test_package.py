"""The zkinfer package without Ray: every function, byte compatibility with the command line,
and bad input raising exceptions (never crashing the interpreter)."""

from __future__ import annotations

import json
import math
import pickle
import threading
import time

import pytest

import zkinfer
from conftest import MLP, run_cli, samples

INPUT = MLP / "input.json"


def first_sample():
    return samples(INPUT)[0]


# -- compile, load, save ----------------------------------------------------------------


def test_compile_reports_the_model(mlp):
    assert mlp.k >= 4 and mlp.slices is None
    assert (mlp.input_len, mlp.output_len) == (64, 10)
    assert mlp.input_visibility == "public" and mlp.weights == "fixed"
    assert mlp.cost["k"] == mlp.k and mlp.cost["rows"] > 0
    assert mlp.fidelity["samples"] > 0
    assert mlp.shape in repr(mlp)


def test_compile_takes_calibration_as_numbers():
    import numpy

    calibration = numpy.array(samples(MLP / "calibration.json"), dtype=numpy.float32)
    model = zkinfer.compile(MLP / "model.onnx", calibration=calibration)
    assert model.run(first_sample()) == zkinfer.compile(
        MLP / "model.onnx", calibration=MLP / "calibration.json"
    ).run(first_sample())


def test_save_load_and_cli_files_are_the_same(mlp, tmp_path, zkinfer_bin):
    mlp.save(tmp_path / "py.zkm")
    run_cli(zkinfer_bin, "compile", MLP / "model.onnx", "--calibration",
            MLP / "calibration.json", "-o", tmp_path / "cli.zkm")
    assert (tmp_path / "py.zkm").read_bytes() == (tmp_path / "cli.zkm").read_bytes()
    loaded = zkinfer.load(tmp_path / "cli.zkm")
    assert loaded.to_json() == mlp.to_json()
    assert zkinfer.Model.from_json(mlp.to_json().decode()).k == mlp.k


def test_sliced_compile(mlp_sliced):
    assert mlp_sliced.slices == 3
    assert len(mlp_sliced.slice_summaries) == 3
    assert all(s["predicted_prove_ms"] > 0 for s in mlp_sliced.slice_summaries)


def test_compile_options_by_name():
    hashed = zkinfer.compile(MLP / "model.onnx", input_visibility="hashed")
    assert hashed.input_visibility == "hashed"
    with pytest.raises(ValueError, match="unknown input visibility 'secret'"):
        zkinfer.compile(MLP / "model.onnx", input_visibility="secret")
    with pytest.raises(ValueError, match="unknown shape"):
        zkinfer.compile(MLP / "model.onnx", shape="hexagon")
    with pytest.raises(ValueError, match="fixed or committed"):
        zkinfer.compile(MLP / "model.onnx", weights="maybe")


# -- run ----------------------------------------------------------------------------------


def test_run_takes_lists_arrays_and_files(mlp):
    import numpy

    sample = first_sample()
    expected = mlp.run(sample)
    assert len(expected) == 1 and len(expected[0]) == 10
    assert mlp.run(numpy.array(sample)) == expected
    assert mlp.run(numpy.array(sample, dtype=numpy.float32).reshape(8, 8)) == expected
    assert mlp.run(INPUT) == expected
    assert mlp.run(str(INPUT)) == expected
    two = mlp.run(sample + sample)
    assert two == expected * 2
    batch = samples(MLP / "calibration.json")[:3]
    assert mlp.run(batch) == mlp.run(MLP / "calibration.json")[:3]


def test_run_matches_the_command_line(mlp, models_dir, zkinfer_bin):
    out = run_cli(zkinfer_bin, "run", models_dir / "mlp.zkm", "--input", INPUT, "--json")
    assert json.loads(out.stdout)["outputs"] == mlp.run(INPUT)


# -- prove, verify --------------------------------------------------------------------------


def test_prove_and_verify(mlp):
    proof = mlp.prove(first_sample())
    verified = mlp.verify(proof)
    assert verified.verified
    assert verified.outputs == mlp.run(first_sample())
    assert verified.to_dict() == {"verified": True, "outputs": verified.outputs}
    assert proof.k == mlp.k and not proof.is_part and proof.slices == []
    assert proof.outputs == verified.outputs_quantized
    assert proof.transcript_bytes > 0 and proof.claim is None


def test_keys_are_built_once_per_model_object():
    model = zkinfer.compile(MLP / "model.onnx", calibration=MLP / "calibration.json")
    assert model.keys_built == 0
    proof = model.prove(first_sample())
    model.prove(first_sample())
    model.verify(proof)  # the prover's verifier
    assert model.keys_built == 1
    model.verify(model.prove(first_sample(), claim="argmax"))  # the claim's circuit: one more
    model.prove(first_sample(), claim="argmax")
    assert model.keys_built == 2
    fresh = zkinfer.Model.from_json(model.to_json())
    fresh.verify(proof)  # a verifier only
    fresh.verify(proof)
    assert fresh.keys_built == 1
    model.clear_keys()
    model.prove(first_sample())
    assert model.keys_built == 3


def test_sliced_keys_are_built_once_per_slice():
    model = zkinfer.compile(MLP / "model.onnx", calibration=MLP / "calibration.json", slices=3)
    proof = model.prove(first_sample())
    model.prove(first_sample(), slice=1)
    model.verify(proof)  # from the slices' provers
    assert model.keys_built == 3 + 1


def test_proof_files_are_the_command_lines(mlp, models_dir, tmp_path, zkinfer_bin):
    proof = mlp.prove(INPUT)
    path = tmp_path / "py-proof.json"
    path.write_bytes(proof.to_json())
    out = run_cli(zkinfer_bin, "verify", models_dir / "mlp.zkm", path, "--json")
    assert json.loads(out.stdout) == mlp.verify(proof).to_dict()
    # ...and the other way round: a proof from the command line, read back byte for byte.
    run_cli(zkinfer_bin, "prove", models_dir / "mlp.zkm", "--input", INPUT, "-o",
            tmp_path / "cli-proof.json")
    cli_bytes = (tmp_path / "cli-proof.json").read_bytes()
    cli_proof = zkinfer.Proof.from_json(cli_bytes)
    assert cli_proof.to_json() == cli_bytes
    assert zkinfer.load_proof(tmp_path / "cli-proof.json") == cli_proof
    assert mlp.verify(cli_proof).outputs == mlp.run(INPUT)
    assert mlp.verify(tmp_path / "cli-proof.json").outputs == mlp.run(INPUT)
    assert mlp.verify(cli_bytes).outputs == mlp.run(INPUT)


@pytest.mark.parametrize(
    "claim, expected",
    [("argmax", "argmax"), ("topk:3", "topk"), ("ge:2:0.5", "ge")],
)
def test_claims(mlp, claim, expected):
    proof = mlp.prove(first_sample(), claim=claim)
    verified = mlp.verify(proof)
    assert list(verified.claim) == [expected] and verified.outputs is None
    assert proof.claim == verified.claim and proof.outputs == []


def test_sliced_prove_join_verify(mlp_sliced, models_dir, tmp_path, zkinfer_bin):
    whole = mlp_sliced.prove(first_sample())
    assert whole.slices == [0, 1, 2]
    assert mlp_sliced.verify(whole).slices == 3
    secret = zkinfer.link_secret()
    assert len(secret) == 64
    parts = [mlp_sliced.prove(first_sample(), slice=i, link_secret=secret) for i in (2, 0, 1)]
    assert all(p.is_part for p in parts) and [p.slices for p in parts] == [[2], [0], [1]]
    joined = mlp_sliced.join(parts)
    assert mlp_sliced.verify(joined).outputs == mlp_sliced.run(first_sample())
    path = tmp_path / "joined.json"
    path.write_bytes(joined.to_json())
    out = run_cli(zkinfer_bin, "verify", models_dir / "mlp3.zkm", path, "--json")
    assert json.loads(out.stdout)["slices"] == 3
    # Parts made by the command line (secret derived from the public input) join with ours.
    run_cli(zkinfer_bin, "prove", models_dir / "mlp3.zkm", "--input", INPUT, "--slice", "1",
            "-o", tmp_path / "part1.json")
    mine = [mlp_sliced.prove(INPUT, slice=i) for i in (0, 2)]
    theirs = zkinfer.load_proof(tmp_path / "part1.json")
    assert mlp_sliced.verify(mlp_sliced.join(mine + [theirs])).slices == 3


def test_sliced_claim(mlp_sliced):
    proof = mlp_sliced.prove(first_sample(), claim="argmax")
    assert mlp_sliced.verify(proof).claim == {"argmax": mlp_sliced.run(first_sample())[0].index(
        max(mlp_sliced.run(first_sample())[0]))}


def test_hashed_input_and_commitments():
    model = zkinfer.compile(MLP / "model.onnx", calibration=MLP / "calibration.json",
                            input_visibility="hashed")
    commitments = model.commitments(first_sample())
    assert len(commitments["input_commitment"]) == 64 and commitments["output_commitment"] is None
    verified = model.verify(model.prove(first_sample(), claim="argmax"))
    assert verified.input_commitment == commitments["input_commitment"]


def test_bench(mlp):
    report = mlp.bench(first_sample(), prove_runs=2)
    for key in ("params_ms", "keygen_ms", "prove_ms", "prove_min_ms", "verify_ms"):
        assert report[key] >= 0
    assert report["prove_runs"] == 2 and report["proof_bytes"] > 0
    assert report["key_source"] in ("sealed", "stored", "generated", "replaced")
    with pytest.raises(ValueError):
        mlp.bench(first_sample(), prove_runs=0)


def test_clear_keys_then_prove_again(mlp_sliced):
    mlp_sliced.clear_keys()
    assert mlp_sliced.verify(mlp_sliced.prove(first_sample())).slices == 3


def test_pickling(mlp):
    proof = mlp.prove(first_sample())
    assert pickle.loads(pickle.dumps(proof)) == proof
    copy = pickle.loads(pickle.dumps(mlp))
    assert copy.to_json() == mlp.to_json()
    assert copy.verify(proof).outputs == mlp.run(first_sample())


def test_proving_releases_the_gil(mlp_sliced):
    mlp_sliced.clear_keys()
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        time.sleep(0.01)
        before = len(ticks)
        mlp_sliced.prove(first_sample())  # three slices' keys and proofs: over 0.1 s
        during = len(ticks) - before
    finally:
        done.set()
        thread.join()
    # Holding the GIL, Rust would keep the thread from ticking at all during the call.
    assert during >= 10, during


# -- bad input: exceptions with the command line's messages, never a crash -----------------


@pytest.mark.parametrize(
    "value, error, message",
    [
        ([0.5] * 63, zkinfer.InputError, "has 63 values, but the model takes 64"),
        ([], zkinfer.InputError, "has 0 values"),
        ([math.nan] * 64, zkinfer.InputError, "NaN"),
        ([math.inf] * 64, zkinfer.InputError, "not finite|infinite|inf"),
        ([1e30] * 64, zkinfer.InputError, "range|beyond|large"),
    ],
)
def test_bad_inputs(mlp, value, error, message):
    for call in (mlp.prove, mlp.run, mlp.commitments):
        with pytest.raises(error, match=message):
            call(value)


@pytest.mark.parametrize("value", ["x", None, {"a": 1}, [["a"] * 64], object()])
def test_inputs_of_the_wrong_type(mlp, value):
    with pytest.raises((TypeError, ValueError, zkinfer.ZkinferError)):
        mlp.prove(value)


def test_missing_and_malformed_files(mlp, tmp_path):
    with pytest.raises(zkinfer.IoError, match="cannot read .*missing.zkm"):
        zkinfer.load(tmp_path / "missing.zkm")
    (tmp_path / "bad.zkm").write_text("{not json")
    with pytest.raises(zkinfer.ArtifactError, match="bad.zkm"):
        zkinfer.load(tmp_path / "bad.zkm")
    (tmp_path / "truncated.zkm").write_bytes(mlp.to_json()[:-100])
    with pytest.raises(zkinfer.ArtifactError):
        zkinfer.load(tmp_path / "truncated.zkm")
    with pytest.raises(zkinfer.ArtifactError):
        zkinfer.Model.from_json(b"\xff\xfe")
    with pytest.raises(zkinfer.IoError):
        mlp.run(tmp_path / "no-input.json")
    (tmp_path / "input.json").write_text('{"input_data": [[1, 2]]}')
    with pytest.raises(zkinfer.InputError, match="input.json"):
        mlp.run(tmp_path / "input.json")
    with pytest.raises(zkinfer.IoError):
        zkinfer.compile(tmp_path / "missing.onnx")
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(zkinfer.ModelImportError, match="model.onnx"):
        zkinfer.compile(tmp_path / "model.onnx")
    with pytest.raises(zkinfer.IoError):
        mlp.save(tmp_path / "no-such-folder" / "m.zkm")


def test_bad_claims(mlp):
    with pytest.raises(zkinfer.ClaimError, match="expected argmax, topk:K or ge:INDEX:VALUE"):
        mlp.prove(first_sample(), claim="median")
    with pytest.raises(zkinfer.ClaimError, match="the claim is false"):
        mlp.prove(first_sample(), claim="ge:0:1000")


def test_bad_slices_and_secrets(mlp, mlp_sliced):
    with pytest.raises(zkinfer.ProveError, match="sliced models"):
        mlp.prove(first_sample(), slice=0)
    with pytest.raises(zkinfer.ProveError, match="3"):
        mlp_sliced.prove(first_sample(), slice=3)
    with pytest.raises(OverflowError):
        mlp_sliced.prove(first_sample(), slice=-1)
    with pytest.raises(zkinfer.ProveError, match="64 hex digits"):
        mlp_sliced.prove(first_sample(), slice=0, link_secret="xyz")
    with pytest.raises(zkinfer.ProveError, match="one circuit"):
        mlp.join([mlp.prove(first_sample())])


def test_tampered_and_foreign_proofs(mlp, mlp_sliced):
    proof = mlp.prove(first_sample())
    data = json.loads(proof.to_json())
    flipped = dict(data, transcript=("0" if data["transcript"][0] != "0" else "1")
                   + data["transcript"][1:])
    with pytest.raises(zkinfer.VerifyError):
        mlp.verify(json.dumps(flipped).encode())
    changed = dict(data, outputs=[[v + 1 for v in data["outputs"][0]]])
    with pytest.raises(zkinfer.VerifyError):
        mlp.verify(json.dumps(changed).encode())
    with pytest.raises(zkinfer.ArtifactError, match="version"):
        mlp.verify(json.dumps(dict(data, version=99)).encode())
    with pytest.raises(zkinfer.ArtifactError):
        zkinfer.Proof.from_json(b"[]")
    with pytest.raises(zkinfer.VerifyError):
        mlp_sliced.verify(proof)  # a proof of another model
    part = mlp_sliced.prove(first_sample(), slice=0)
    with pytest.raises(zkinfer.ArtifactError, match="a part"):
        mlp_sliced.verify(part)
    with pytest.raises(zkinfer.JoinError, match="missing"):
        mlp_sliced.join([part])
    with pytest.raises(zkinfer.JoinError):
        mlp_sliced.join([part, part])
    with pytest.raises(TypeError):
        mlp.verify(42)
    with pytest.raises(TypeError):
        mlp_sliced.join([part, "not a proof"])


def test_exceptions_form_one_family():
    for name in ("ModelImportError", "QuantizeError", "CompileError", "InputError",
                 "ProveError", "VerifyError", "ArtifactError", "ParamsError", "ClaimError",
                 "JoinError", "IoError"):
        assert issubclass(getattr(zkinfer, name), zkinfer.ZkinferError)
    assert issubclass(zkinfer.ZkinferError, Exception)
