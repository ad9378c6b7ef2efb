"""Python `Model.bench` against `zkinfer bench` (the Rust library) on the same model, alternated.

Both prove the same quantised sample with the library's prover (`Prover::prove_quantized`), with
the key store, and report the median of `--prove-runs` proofs. Build both in release first:

    cargo build --release && pip install ./python
    python3 python/benches/prove_vs_rust.py --rounds 3 lenet5 cifar_cnn
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from pathlib import Path

import zkinfer

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prove-runs", type=int, default=5)
    parser.add_argument("--zkinfer", default=str(ROOT / "target" / "release" / "zkinfer"))
    args = parser.parse_args()
    report = {}
    for name in args.models:
        m = ROOT / "fixtures" / name
        model = zkinfer.compile(m / "model.onnx", calibration=m / "calibration.json")
        rust, python = [], []
        for _ in range(args.rounds):
            out = subprocess.run(
                [args.zkinfer, "bench", m / "model.onnx", "--input", m / "input.json",
                 "--calibration", m / "calibration.json", "--prove-runs",
                 str(args.prove_runs), "--json"],
                capture_output=True, text=True, check=True,
            ).stdout
            rust.append(json.loads(out)["prove_ms"])
            python.append(model.bench(m / "input.json", prove_runs=args.prove_runs)["prove_ms"])
        report[name] = {
            "k": model.k,
            "rust_prove_ms": rust,
            "python_prove_ms": python,
            "ratio_of_medians": statistics.median(python) / statistics.median(rust),
        }
        print(json.dumps({name: report[name]}), flush=True)


if __name__ == "__main__":
    main()
