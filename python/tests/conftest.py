"""Shared fixtures: the repository's fixture models, compiled once per session, the `zkinfer`
binary for compatibility checks, and a local Ray cluster listening on 127.0.0.1 only."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Ray reads this when it is imported: with it, a local cluster keeps 127.0.0.1 as its node
# address instead of the interface's (see ray_cluster). Set before anything imports ray.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
MLP = FIXTURES / "mlp_64_32_10"


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory):
    """The parameter and key cache: the Rust tests' (target/tmp), so parameters generated
    there are reused, else a fresh folder."""
    shared = ROOT / "target" / "tmp" / "zkinfer-params"
    path = shared if shared.parent.is_dir() else tmp_path_factory.mktemp("zkinfer-cache")
    os.environ["ZKINFER_CACHE_DIR"] = str(path)
    return path


def samples(path: Path) -> list:
    return json.loads(path.read_text())["input_data"]


@pytest.fixture(scope="session")
def zkinfer_bin():
    """The command-line binary (built by `cargo test`), or skip."""
    candidates = [os.environ.get("ZKINFER_BIN"), ROOT / "target" / "debug" / "zkinfer"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    found = shutil.which("zkinfer")
    if found:
        return found
    pytest.skip("the zkinfer binary is not built (run cargo test --workspace first)")


def run_cli(binary, *args, check=True):
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


@pytest.fixture(scope="session")
def mlp(cache_dir):
    """The 64-32-10 MLP, proven as one circuit."""
    import zkinfer

    return zkinfer.compile(MLP / "model.onnx", calibration=MLP / "calibration.json")


@pytest.fixture(scope="session")
def mlp_sliced(cache_dir):
    """The same MLP cut into three linked slices."""
    import zkinfer

    return zkinfer.compile(MLP / "model.onnx", calibration=MLP / "calibration.json", slices=3)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory, mlp, mlp_sliced):
    """The two models saved as .zkm files."""
    folder = tmp_path_factory.mktemp("models")
    mlp.save(folder / "mlp.zkm")
    mlp_sliced.save(folder / "mlp3.zkm")
    return folder


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster of 2 CPUs listening on 127.0.0.1 only, shut down afterwards.

    `ray.init(_node_ip_address="127.0.0.1")` alone is not enough: Ray replaces a loopback node
    address by the interface's. With RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 it keeps 127.0.0.1.
    Every node address is checked before any work is sent.
    """
    ray = pytest.importorskip("ray")
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
    assert not ray.is_initialized(), "a Ray cluster is already running in this process"
    ray.init(include_dashboard=False, num_cpus=2, log_to_driver=False)
    try:
        nodes = ray.nodes()
        assert nodes
        for node in nodes:
            address = node["NodeManagerAddress"]
            assert ipaddress.ip_address(address).is_loopback, f"Ray node on {address}"
        yield ray
    finally:
        import zkinfer.ray

        zkinfer.ray.shutdown()
        ray.shutdown()
