"""Wall time of `zkinfer prove` against `zkinfer.ray.prove` on a sliced model, alternated.

    cargo build --release && pip install ./python
    target/release/zkinfer compile fixtures/vgg_cifar/model.onnx \
        --calibration fixtures/vgg_cifar/calibration.json --max-k 14 -o /tmp/vgg.zkm
    python3 python/benches/ray_vs_cli.py /tmp/vgg.zkm fixtures/vgg_cifar/input.json --rounds 2

Each round runs the CLI (a new process: parameters, keys from the key store, every slice in
turn, both cores) and then Ray with a fresh pool of `--workers` actors of one CPU each (they
build their slices' keys from the key store, as the CLI does) followed by a second proof on the
same pool (keys kept: what a stream of inputs pays). The key store is filled first.
Run on an otherwise idle machine: a local Ray cluster (127.0.0.1 only) is started here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # noqa: E402

import zkinfer  # noqa: E402
import zkinfer.ray  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def cli_prove(binary: str, model: str, input: str, out: str) -> float:
    start = time.perf_counter()
    subprocess.run([binary, "prove", model, "--input", input, "-o", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--zkinfer", default=str(ROOT / "target" / "release" / "zkinfer"))
    args = parser.parse_args()
    model = zkinfer.load(args.model)
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "proof.json")
    print("filling the key store…", file=sys.stderr)
    first = cli_prove(args.zkinfer, args.model, args.input, out)
    ray.init(include_dashboard=False, num_cpus=args.workers, log_to_driver=False)
    assert all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray.nodes())
    rounds = []
    try:
        for r in range(args.rounds):
            cli = cli_prove(args.zkinfer, args.model, args.input, out)
            pool = zkinfer.ray.ProverPool(num_workers=args.workers)
            pool.pids()  # workers started before timing
            slices = []
            start = time.perf_counter()
            proof = pool.prove(
                args.model, args.input,
                progress=lambda e: slices.append(e) if e["event"] == "proved" else None,
            )
            cold = time.perf_counter() - start
            warm_slices = []
            start = time.perf_counter()
            pool.prove(args.model, args.input,
                       progress=lambda e: warm_slices.append(e) if e["event"] == "proved" else None)
            warm = time.perf_counter() - start
            pool.shutdown()
            path = os.path.join(tmp, "ray-proof.json")
            with open(path, "wb") as f:
                f.write(proof.to_json())
            verified = subprocess.run([args.zkinfer, "verify", args.model, path],
                                      capture_output=True).returncode == 0
            rounds.append({
                "cli_s": cli, "ray_cold_s": cold, "ray_warm_s": warm,
                "ray_over_cli": cold / cli, "cli_verify_accepts_ray_proof": verified,
                "slice_s_cold": {e["slice"]: round(e["seconds"], 2) for e in slices},
                "slice_s_warm": {e["slice"]: round(e["seconds"], 2) for e in warm_slices},
            })
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        ray.shutdown()
    print(json.dumps({"model": args.model, "slices": model.slices, "workers": args.workers,
                      "first_cli_s": first, "rounds": rounds}))


if __name__ == "__main__":
    main()
