"""zkinfer.audit: the sampled-audit flow, byte compatibility with the command line, and every
failure raising AuditError naming the sample."""

from __future__ import annotations

import json

import pytest

import zkinfer
from zkinfer import audit
from conftest import MLP, run_cli

BATCH = MLP / "test.json"


@pytest.fixture(scope="module")
def flow(mlp):
    receipt = audit.commit(mlp, BATCH)
    challenge = audit.challenge(receipt, 3, seed="5eed")
    answer = audit.prove(mlp, BATCH, receipt, challenge)
    return receipt, challenge, answer


def test_the_honest_flow_verifies(mlp, flow):
    receipt, challenge, answer = flow
    assert receipt["count"] == 200 and len(receipt["outputs"]) == 200
    assert receipt["outputs"][0] == mlp.run(BATCH)[0]
    assert len(challenge["indices"]) == 3 and challenge["seed"] == "5eed"
    assert [s["index"] for s in answer["samples"]] == challenge["indices"]
    report = audit.verify(mlp, receipt, challenge, answer, batch=BATCH)
    assert report["verified"] is True
    assert (report["count"], report["sampled"]) == (200, 3)
    assert list(report["detection"]) == ["0.01", "0.05", "0.10"]
    assert report["detection"]["0.01"] == pytest.approx(audit.detection_probability(200, 0.01, 3))
    again = audit.reexecute(mlp, BATCH, receipt, challenge)
    assert sorted(int(i) for i in again["outputs"]) == challenge["indices"]


def test_the_command_line_accepts_the_files(mlp, flow, zkinfer_bin, tmp_path):
    receipt, challenge, answer = flow
    model = tmp_path / "mlp.zkm"
    mlp.save(model)
    paths = []
    for name, document in (("receipt", receipt), ("challenge", challenge), ("audit", answer)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        paths.append(path)
    out = run_cli(zkinfer_bin, "audit", "verify", model, *paths, "--json").stdout
    assert json.loads(out)["verified"] is True
    # And the package reads the command line's receipt from its path.
    cli_receipt = tmp_path / "cli_receipt.json"
    run_cli(zkinfer_bin, "audit", "commit", model, "--input", BATCH, "-o", cli_receipt)
    assert audit.verify(mlp, cli_receipt, paths[1], paths[2])["verified"] is True


def test_failures_name_the_sample(mlp, flow):
    receipt, challenge, answer = flow
    index = answer["samples"][1]["index"]
    forged = json.loads(json.dumps(answer))
    transcript = forged["samples"][1]["proof"]["transcript"]
    forged["samples"][1]["proof"]["transcript"] = ("1" if transcript[0] == "0" else "0") + transcript[1:]
    with pytest.raises(audit.AuditError, match=f"sample {index}"):
        audit.verify(mlp, receipt, challenge, forged)
    missing = json.loads(json.dumps(answer))
    del missing["samples"][0]
    with pytest.raises(audit.AuditError, match=f"sample {answer['samples'][0]['index']}"):
        audit.verify(mlp, receipt, challenge, missing)
    edited = json.loads(json.dumps(receipt))
    edited["outputs"][index][0] += 2.0 ** -mlp.output_scale
    with pytest.raises(audit.AuditError, match=f"sample {index}: the receipt's output"):
        audit.verify(mlp, edited, challenge, answer)
    with pytest.raises(audit.AuditError, match="indices"):
        audit.verify(mlp, receipt, dict(challenge, seed="5eee"), answer)
    with pytest.raises(zkinfer.ZkinferError):
        audit.verify(mlp, receipt, challenge, "{not json")


def test_plan_and_bad_parameters(mlp, flow):
    assert audit.plan(1000, 0.01, 0.99) == 368
    assert audit.detection_probability(10, 0.1, 10) == 1.0
    with pytest.raises(audit.AuditError, match="cheating fraction"):
        audit.plan(1000, 0.0, 0.99)
    receipt = flow[0]
    with pytest.raises(audit.AuditError, match="cannot challenge 0 samples"):
        audit.challenge(receipt, 0)
    assert len(bytes.fromhex(audit.challenge(receipt, 2)["seed"])) == 32
    with pytest.raises(zkinfer.InputError):
        audit.commit(mlp, [[0.5] * 3])
