#!/usr/bin/env python3
"""Optional side-by-side benchmark: EZKL and zkinfer on the same ONNX fixtures.

For every model folder (``fixtures/<name>/`` with ``model.onnx``, ``input.json``
and ``calibration.json``) this script

1. runs EZKL's Python pipeline in a child process:
   ``gen_settings`` (EZKL's default run args) -> ``calibrate_settings``
   (target "resources", the fixture's calibration samples) -> ``compile_circuit``
   -> ``gen_srs`` (a LOCAL, TEST-ONLY KZG SRS for the calibrated logrows; nothing
   is downloaded) -> ``setup`` -> ``gen_witness`` (the fixture's input) ->
   ``prove`` -> ``verify``, timing each step with ``time.perf_counter``;
2. then (never at the same time) runs ``zkinfer bench ... --json``;
3. prints a markdown table of both provers' times and the prove-time ratio
   (EZKL / zkinfer), a second table with the other measurements, the machine and
   the versions, and any failure with the step that failed and why.

Both provers use every core of the machine (neither this script nor they limit
their rayon thread pools). The EZKL child is capped at ``--ezkl-timeout``
seconds (default 900), not counting the one-off test-SRS generation; zkinfer is
capped at ``--zkinfer-timeout``. A failing or timed-out model is reported and the
script goes on with the next one.

What is measured:

* EZKL step times are wall-clock seconds of the Python call (each call is one
  Rust function; file I/O of keys and proofs is included, as it is in zkinfer's
  numbers for the parts it does).
* EZKL proof size: the raw proof transcript, i.e. the length of the ``proof``
  byte list in EZKL's ``proof.json`` (the same bytes as its ``hex_proof``
  field, without the ``0x``); the whole JSON file size is recorded too.
* zkinfer numbers are the ones ``zkinfer bench --json`` prints (``prove_ms``,
  ``verify_ms``, ``keygen_ms``, ``proof_bytes``, ...).
* Peak RSS is the child process's ``ru_maxrss`` as returned by ``os.wait4``;
  for EZKL this includes the Python interpreter (a few tens of MB), and the
  per-step growth is read from ``/proc/self/status`` (``VmHWM``).

Usage (from the repository root, with ``pip install ezkl==23.0.5``)::

    python3 benches/ezkl_compare.py --zkinfer target/release/zkinfer \\
        --models mlp_784_128_64_10 lenet5 --json /tmp/ezkl_compare.json
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ["mlp_784_128_64_10", "lenet5"]
FIXTURE_FILES = ("model.onnx", "input.json", "calibration.json")
POLL_SECONDS = 0.5

# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def write_json_atomic(path: Path, value) -> None:
    """Write ``value`` as JSON so that a concurrent reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    os.replace(tmp, path)


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def vm_hwm_mb() -> float | None:
    """Peak resident set size of this process so far, from /proc (Linux only)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def machine_info() -> dict:
    """CPU model and core counts from /proc/cpuinfo, plus OS and Python versions."""
    model, logical, physical = None, 0, set()
    phys_id = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "processor":
                logical += 1
            elif key == "model name" and model is None:
                model = value
            elif key == "physical id":
                phys_id = value
            elif key == "core id":
                physical.add((phys_id, value))
    except OSError:
        pass
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "logical_cpus": logical or os.cpu_count(),
        "physical_cores": len(physical) or None,
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def run_child(cmd, *, env, timeout, stdout_path: Path, stderr_path: Path,
              progress_path: Path | None = None) -> dict:
    """Run ``cmd`` in its own process group, capped at ``timeout`` seconds.

    Returns the exit code, whether it timed out, the wall time and the child's
    peak RSS (``ru_maxrss`` from ``os.wait4``). If ``progress_path`` is given
    (the EZKL worker writes it), time spent generating the test SRS is added to
    the budget, so the cap applies to the EZKL pipeline proper.
    """
    start = time.perf_counter()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        now = time.perf_counter()
        excluded = 0.0
        if progress_path is not None:
            prog = read_json(progress_path) or {}
            excluded = prog.get("steps", {}).get("gen_srs", 0.0) or 0.0
            if prog.get("current") == "gen_srs" and prog.get("current_started"):
                excluded = max(0.0, time.time() - prog["current_started"])
        if not timed_out and now - start > timeout + excluded:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(POLL_SECONDS)
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    return {
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "wall_s": time.perf_counter() - start,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,  # Linux reports KiB
    }


# --------------------------------------------------------------------------
# EZKL worker (runs in a child process: one model per process)
# --------------------------------------------------------------------------


def ezkl_call(fn, **kwargs):
    """Call an EZKL binding; await it if this EZKL version made it async.

    EZKL reports some failures by returning False rather than raising.
    """
    result = fn(**kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    if result is False:
        raise RuntimeError(f"ezkl.{fn.__name__} returned False")
    return result


def settings_summary(settings_path: Path) -> dict:
    settings = read_json(settings_path) or {}
    run_args = settings.get("run_args", {})
    keys = ("input_visibility", "output_visibility", "param_visibility", "input_scale",
            "param_scale", "scale_rebase_multiplier", "logrows", "lookup_range",
            "num_inner_cols", "decomp_base", "decomp_legs", "check_mode")
    summary = {key: run_args.get(key) for key in keys}
    summary["num_rows"] = settings.get("num_rows")
    summary["required_lookups"] = settings.get("required_lookups")
    summary["required_range_checks"] = settings.get("required_range_checks")
    return summary


def ezkl_worker(model_dir: Path, out_dir: Path, srs_dir: Path) -> int:
    """The whole EZKL pipeline for one model; progress goes to out_dir/progress.json."""
    import ezkl  # imported here so the parent runs without EZKL installed

    out_dir.mkdir(parents=True, exist_ok=True)
    srs_dir.mkdir(parents=True, exist_ok=True)
    progress_path = out_dir / "progress.json"
    progress = {"steps": {}, "rss_after_mb": {}, "current": None, "current_started": None,
                "ezkl_version": getattr(ezkl, "__version__", "unknown")}
    write_json_atomic(progress_path, progress)

    model = model_dir / "model.onnx"
    settings = out_dir / "settings.json"
    compiled = out_dir / "network.ezkl"
    vk, pk = out_dir / "vk.key", out_dir / "pk.key"
    witness, proof = out_dir / "witness.json", out_dir / "proof.json"

    def step(name, fn, **kwargs):
        progress["current"], progress["current_started"] = name, time.time()
        write_json_atomic(progress_path, progress)
        t0 = time.perf_counter()
        result = ezkl_call(fn, **kwargs)
        progress["steps"][name] = time.perf_counter() - t0
        progress["rss_after_mb"][name] = vm_hwm_mb()
        progress["current"], progress["current_started"] = None, None
        write_json_atomic(progress_path, progress)
        return result

    try:
        # EZKL's defaults: no PyRunArgs is passed, so gen_settings uses them.
        step("gen_settings", ezkl.gen_settings, model=str(model), output=str(settings))
        progress["default_settings"] = settings_summary(settings)
        step("calibrate", ezkl.calibrate_settings, data=str(model_dir / "calibration.json"),
             model=str(model), settings=str(settings), target="resources")
        progress["calibrated_settings"] = settings_summary(settings)
        logrows = progress["calibrated_settings"]["logrows"]
        progress["logrows"] = logrows
        step("compile", ezkl.compile_circuit, model=str(model), compiled_circuit=str(compiled),
             settings_path=str(settings))

        # A test-only SRS generated locally (insecure: its toxic waste is known).
        # Cached per logrows in srs_dir so that models of equal size share it.
        srs = srs_dir / f"kzg{logrows}.srs"
        if srs.exists():
            progress["srs_reused"] = True
        else:
            tmp_srs = srs_dir / f"kzg{logrows}.srs.partial"
            step("gen_srs", ezkl.gen_srs, srs_path=str(tmp_srs), logrows=logrows)
            os.replace(tmp_srs, srs)
            progress["srs_reused"] = False
        progress["srs_path"] = str(srs)

        step("setup", ezkl.setup, model=str(compiled), vk_path=str(vk), pk_path=str(pk),
             srs_path=str(srs))
        step("gen_witness", ezkl.gen_witness, data=str(model_dir / "input.json"),
             model=str(compiled), output=str(witness))
        step("prove", ezkl.prove, witness=str(witness), model=str(compiled), pk_path=str(pk),
             proof_path=str(proof), srs_path=str(srs))
        step("verify", ezkl.verify, proof_path=str(proof), settings_path=str(settings),
             vk_path=str(vk), srs_path=str(srs))

        proof_json = read_json(proof) or {}
        raw = proof_json.get("proof")
        if isinstance(raw, list):
            progress["proof_bytes"] = len(raw)
        elif isinstance(proof_json.get("hex_proof"), str):
            progress["proof_bytes"] = len(bytes.fromhex(proof_json["hex_proof"].removeprefix("0x")))
        progress["proof_file_bytes"] = proof.stat().st_size
        progress["pk_file_bytes"] = pk.stat().st_size
        progress["vk_file_bytes"] = vk.stat().st_size
        progress["ok"] = True
        write_json_atomic(progress_path, progress)
        return 0
    except BaseException as exc:  # report every failure, including KeyboardInterrupt
        progress["ok"] = False
        progress["failed_step"] = progress.get("current") or "unknown"
        progress["error"] = f"{type(exc).__name__}: {exc}"
        progress["traceback"] = traceback.format_exc()
        write_json_atomic(progress_path, progress)
        return 1


# --------------------------------------------------------------------------
# The two runs, from the parent
# --------------------------------------------------------------------------


def run_ezkl(model_dir: Path, workdir: Path, timeout: float) -> dict:
    out_dir = workdir / "ezkl" / model_dir.name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--ezkl-worker",
           str(model_dir), str(out_dir), str(workdir / "ezkl-srs")]
    child = run_child(cmd, env=dict(os.environ), timeout=timeout,
                      stdout_path=out_dir / "stdout.log", stderr_path=out_dir / "stderr.log",
                      progress_path=out_dir / "progress.json")
    result = read_json(out_dir / "progress.json") or {}
    result.update(child)
    if child["timed_out"]:
        result["ok"] = False
        result["failed_step"] = result.get("current") or "unknown"
        result["error"] = f"timed out after {timeout:.0f} s (test-SRS generation not counted)"
    elif not result.get("ok"):
        result["ok"] = False
        result.setdefault("failed_step", result.get("current") or "unknown")
        if "error" not in result:  # the worker died without reporting (e.g. a Rust panic/abort)
            result["error"] = (f"worker exited with code {child['returncode']}: "
                               + tail(out_dir / "stderr.log", 5).replace("\n", " | "))
    result["log_dir"] = str(out_dir)
    return result


def run_zkinfer(binary: Path, model_dir: Path, workdir: Path, timeout: float) -> dict:
    out_dir = workdir / "zkinfer" / model_dir.name
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["ZKINFER_CACHE_DIR"] = str(workdir / "zkinfer-cache")
    cmd = [str(binary), "bench", str(model_dir / "model.onnx"),
           "--input", str(model_dir / "input.json"),
           "--calibration", str(model_dir / "calibration.json"), "--json"]
    child = run_child(cmd, env=env, timeout=timeout, stdout_path=out_dir / "stdout.json",
                      stderr_path=out_dir / "stderr.log")
    result = {"command": " ".join(cmd), "log_dir": str(out_dir), **child}
    if child["timed_out"]:
        return {**result, "ok": False, "error": f"timed out after {timeout:.0f} s"}
    text = (out_dir / "stdout.json").read_text(errors="replace")
    try:
        start = text.index("{")
        report = json.loads(text[start:])
    except ValueError:
        report = None
    if child["returncode"] != 0 or not isinstance(report, dict):
        return {**result, "ok": False,
                "error": f"exit code {child['returncode']}: "
                         + tail(out_dir / "stderr.log", 5).replace("\n", " | ")}
    return {**result, "ok": True, "report": report}


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def fmt(value, scale=1.0, digits=2):
    if value is None:
        return "—"
    return f"{value * scale:.{digits}f}"


def ezkl_cell(ez: dict, key: str, scale=1.0, digits=2):
    value = ez.get("steps", {}).get(key)
    if value is not None:
        return fmt(value, scale, digits)
    if ez.get("ok") is False:
        return f"failed ({ez.get('failed_step', '?')})" if ez.get("failed_step") == key else "—"
    return "—"


def print_report(results: list[dict], machine: dict, versions: dict) -> None:
    print()
    print("## EZKL vs zkinfer")
    print()
    print(f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs "
          f"({machine['usable_cpus']} usable by this process), {machine['os']}; "
          f"load average at start {machine['loadavg_at_start'][0]:.2f}.")
    print(f"Versions: ezkl {versions['ezkl']}, zkinfer {versions['zkinfer']}, "
          f"Python {machine['python']}.")
    print("Both provers ran one after the other (never in parallel), each with all cores "
          "(default rayon thread pools).")
    print("EZKL used a locally generated TEST-ONLY KZG SRS (ezkl.gen_srs): fine for timing, "
          "insecure for real use.")
    print()
    print("| model | EZKL logrows | EZKL setup s | EZKL prove s | EZKL verify ms "
          "| zkinfer k | zkinfer prove s | zkinfer verify ms | prove ratio (EZKL / zkinfer) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ez, zk = r["ezkl"], r["zkinfer"]
        rep = zk.get("report", {}) if zk.get("ok") else {}
        ez_prove = ez.get("steps", {}).get("prove") if ez.get("ok") else None
        zk_prove = rep.get("prove_ms")
        ratio = f"{ez_prove / (zk_prove / 1000.0):.1f}×" if ez_prove and zk_prove else "—"
        zk_fail = "failed" if not zk.get("ok") else None
        print(f"| {r['model']} | {ez.get('logrows', '—')} | {ezkl_cell(ez, 'setup')} "
              f"| {ezkl_cell(ez, 'prove')} | {ezkl_cell(ez, 'verify', 1000.0, 1)} "
              f"| {rep.get('k', zk_fail or '—')} | {fmt(zk_prove, 1e-3) if zk_prove else (zk_fail or '—')} "
              f"| {fmt(rep.get('verify_ms'), 1.0, 1) if rep else (zk_fail or '—')} | {ratio} |")
    print()
    print("Details (EZKL: calibrate, compile, test-SRS generation and witness in s; proof = raw "
          "transcript bytes; zkinfer: keygen incl. vk+pk, params = IPA parameter generation or "
          "cache load; RSS = peak resident memory of the child process):")
    print()
    print("| model | EZKL calibrate s | EZKL compile s | EZKL test-SRS s | EZKL witness s "
          "| EZKL proof B | EZKL peak RSS MB | zkinfer params s | zkinfer keygen s "
          "| zkinfer witness ms | zkinfer proof B | zkinfer peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ez, zk = r["ezkl"], r["zkinfer"]
        rep = zk.get("report", {}) if zk.get("ok") else {}
        srs = "reused" if ez.get("srs_reused") else ezkl_cell(ez, "gen_srs")
        print(f"| {r['model']} | {ezkl_cell(ez, 'calibrate')} | {ezkl_cell(ez, 'compile')} "
              f"| {srs} | {ezkl_cell(ez, 'gen_witness', 1.0, 3)} | {ez.get('proof_bytes', '—')} "
              f"| {fmt(ez.get('peak_rss_mb'), 1.0, 0)} | {fmt(rep.get('params_ms'), 1e-3)} "
              f"| {fmt(rep.get('keygen_ms'), 1e-3)} | {fmt(rep.get('witness_ms'), 1.0, 1)} "
              f"| {rep.get('proof_bytes', '—')} | {fmt(zk.get('peak_rss_mb'), 1.0, 0)} |")
    print()
    print("EZKL settings (default from gen_settings → after calibrate_settings, target \"resources\"):")
    print()
    for r in results:
        d, c = r["ezkl"].get("default_settings"), r["ezkl"].get("calibrated_settings")
        if not d:
            continue
        line = (f"- {r['model']}: visibility input={d['input_visibility']}, "
                f"output={d['output_visibility']}, params={d['param_visibility']}; "
                f"scales input/param {d['input_scale']}/{d['param_scale']}, logrows {d['logrows']}")
        if c:
            line += (f" → calibrated input/param scale {c['input_scale']}/{c['param_scale']}, "
                     f"logrows {c['logrows']}, rows {c['num_rows']}, "
                     f"range checks {c['required_range_checks']}, lookups {c['required_lookups']}")
        print(line)
    failures = [(r["model"], name, res) for r in results
                for name, res in (("EZKL", r["ezkl"]), ("zkinfer", r["zkinfer"]))
                if not res.get("ok")]
    if failures:
        print()
        print("Failures:")
        print()
        for model, name, res in failures:
            step = f" at step '{res['failed_step']}'" if res.get("failed_step") else ""
            print(f"- {model}: {name} failed{step}: {res.get('error', 'unknown error')} "
                  f"(logs: {res.get('log_dir', '—')})")
    print()


def ezkl_version() -> str | None:
    """The installed EZKL's version, asked of a child interpreter (no import here)."""
    try:
        out = subprocess.run([sys.executable, "-c", "import ezkl; print(ezkl.__version__)"],
                             capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def zkinfer_version(binary: Path) -> str | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def resolve_model(name: str, fixtures: Path) -> Path:
    path = Path(name)
    model_dir = path if path.is_dir() else fixtures / name
    missing = [f for f in FIXTURE_FILES if not (model_dir / f).is_file()]
    if missing:
        raise SystemExit(f"error: {model_dir} lacks {', '.join(missing)}")
    return model_dir.resolve()


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Run EZKL and zkinfer on the same ONNX fixtures and compare their times.")
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, metavar="MODEL",
                        help="folders under --fixtures (or paths) holding model.onnx, input.json "
                             "and calibration.json (default: %(default)s)")
    parser.add_argument("--fixtures", type=Path, default=REPO / "fixtures",
                        help="folder of model folders (default: the repository's fixtures/)")
    parser.add_argument("--zkinfer", type=Path, default=REPO / "target" / "release" / "zkinfer",
                        help="zkinfer binary (default: target/release/zkinfer)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for keys, proofs, SRS and caches (default: a new temp dir; "
                             "reuse one to keep the test SRS and zkinfer's parameter cache)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT.json",
                        help="also write every measurement to this file")
    parser.add_argument("--ezkl-timeout", type=float, default=900.0, metavar="S",
                        help="cap per model for EZKL, test-SRS generation excluded (default 900)")
    parser.add_argument("--zkinfer-timeout", type=float, default=900.0, metavar="S",
                        help="cap per model for zkinfer bench (default 900)")
    parser.add_argument("--skip-ezkl", action="store_true", help="run only zkinfer")
    parser.add_argument("--skip-zkinfer", action="store_true", help="run only EZKL")
    parser.add_argument("--ezkl-worker", nargs=3, metavar=("MODEL_DIR", "OUT_DIR", "SRS_DIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.ezkl_worker:
        return ezkl_worker(*(Path(p) for p in args.ezkl_worker))

    models = [resolve_model(m, args.fixtures) for m in args.models]
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="ezkl-compare-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    versions = {"ezkl": ezkl_version(), "zkinfer": zkinfer_version(args.zkinfer)}
    print(f"workdir: {workdir}", flush=True)
    if versions["ezkl"] is None and not args.skip_ezkl:
        print("EZKL is not importable by this Python (pip install ezkl==23.0.5): "
              "its columns will show the failure.", flush=True)
    if versions["zkinfer"] is None and not args.skip_zkinfer:
        print(f"zkinfer binary {args.zkinfer} does not run: its columns will show the failure.",
              flush=True)

    results = []
    for model_dir in models:
        entry = {"model": model_dir.name}
        if args.skip_ezkl:
            entry["ezkl"] = {"ok": False, "error": "skipped (--skip-ezkl)"}
        elif versions["ezkl"] is None:
            entry["ezkl"] = {"ok": False, "failed_step": "import",
                             "error": "the ezkl package is not installed for " + sys.executable}
        else:
            print(f"[{model_dir.name}] EZKL…", flush=True)
            entry["ezkl"] = run_ezkl(model_dir, workdir, args.ezkl_timeout)
            ez = entry["ezkl"]
            print(f"[{model_dir.name}] EZKL {'ok' if ez.get('ok') else 'FAILED: ' + ez['error']} "
                  f"({ez['wall_s']:.1f} s, steps: "
                  + ", ".join(f"{k} {v:.2f}s" for k, v in ez.get("steps", {}).items()) + ")",
                  flush=True)
        if args.skip_zkinfer:
            entry["zkinfer"] = {"ok": False, "error": "skipped (--skip-zkinfer)"}
        else:
            print(f"[{model_dir.name}] zkinfer…", flush=True)
            entry["zkinfer"] = run_zkinfer(args.zkinfer, model_dir, workdir, args.zkinfer_timeout)
            zk = entry["zkinfer"]
            if zk.get("ok"):
                rep = zk["report"]
                print(f"[{model_dir.name}] zkinfer ok ({zk['wall_s']:.1f} s, k {rep.get('k')}, "
                      f"prove {rep.get('prove_ms', 0) / 1000:.2f}s)", flush=True)
            else:
                print(f"[{model_dir.name}] zkinfer FAILED: {zk['error']}", flush=True)
        results.append(entry)

    print_report(results, machine, versions)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "versions": versions,
                                         "workdir": str(workdir), "results": results},
                                        indent=2, sort_keys=True))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
