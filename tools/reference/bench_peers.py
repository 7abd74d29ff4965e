"""NanoLlm against its PyTorch twin and LibTorch 2.10 on the baby recipe and a larger model (make bench-peers).

    bench_peers.py --train-dll PATH --corpus PATH [--config configs/shakespeare-baby.toml] [--steps 200]
                   [--threads 1,2] [--larger-steps 20] [--bench-dll PATH] [--libtorch-dll PATH]

For each thread count, one after the other: NanoLlm's train program (NANOLLM_THREADS=n) and train.py
(torch.set_num_threads(n), OMP_NUM_THREADS=n), the same run file and steps, each under `/usr/bin/time -v` for its
peak resident memory ("Maximum resident set size"). Step times: NanoLlm's from the metrics CSV (differences of
elapsed_s), the twin's from its JSON line. ms/step is the median over the steps after the warm-up (10 for the baby
recipe, 3 for the larger case) but the last, which for NanoLlm includes the final evaluation and the
weights/checkpoint writes. tokens/s = tokens a step / that median. val_loss: both score the same batches of
consecutive windows from the start of the last 10 % of the text (20 for the baby recipe).

LibTorch 2.10 (bench/NanoLlm.Bench.LibTorch, TorchSharp; --libtorch-dll) trains the same GPT on random tokens for
timing only: the same steps and warm-up, its own step clock, no val_loss. With --bench-dll, NanoLlm.Bench --peak
measures this machine's FMA peak first and every row gets its MFU: (6·N + 12·L·T·C) FLOP a token (nanoGPT's
estimate_mfu, N without the position embedding) × tokens/s ÷ the peak at the row's thread count. A peer that cannot
run (torch missing for the system Python, the LibTorch project not built) is a row saying why and how to provide it.

The larger case (timing only) is the same run file with 6 layers, 6 heads, embedding 384, context 256, batch 16, for
--larger-steps steps (0 skips it), scored on one validation batch. Prints one table per case, a line with the larger
case's ratios, and last the line for scripts with the baby recipe's NanoLlm/PyTorch ratios (peak RSS ratio and
val_loss difference at the largest thread count).
"""

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))


class Case:
    """A run file with overrides, trained for some steps, of which the first `warmup` are not timed."""

    def __init__(self, name, config, steps, warmup, overrides):
        self.name, self.config, self.steps, self.warmup, self.overrides = name, config, steps, warmup, overrides
        with open(config, "rb") as file:
            recipe = tomllib.load(file)
        for key, value in overrides.items():
            section, _, field = key.partition(".")
            recipe.setdefault(section, {})[field] = value
        training, model = recipe["training"], recipe["model"]
        self.batch, self.length = training["batch_size"], model["context_length"]
        self.vocab, self.channels = model["vocab_size"], model["embedding_size"]
        self.layers, self.heads = model["layers"], model["heads"]
        self.tokens_per_step = training["batch_size"] * recipe["model"]["context_length"] * training.get("grad_accumulation_steps", 1)

    def settings(self, corpus):
        """--set arguments shared by both sides: the steps, no evaluation until the end, the corpus, the overrides."""
        pairs = {"training.steps": self.steps, "training.eval_interval": 0, "training.corpus": corpus, **self.overrides}
        return [item for key, value in pairs.items() for item in ("--set", f"{key}={json.dumps(value)}")]

    def flops_per_token(self):
        """6·N + 12·L·T·C with N = V·C (the tied head) + L·(12·C² + 13·C) + 2·C (ln_f): nanoGPT's count."""
        c = self.channels
        n = self.vocab * c + self.layers * (12 * c * c + 13 * c) + 2 * c
        return 6 * n + 12 * self.layers * self.length * c


BABY_WARMUP_STEPS = 10
LARGER_WARMUP_STEPS = 3
LARGER_OVERRIDES = {
    "model.layers": 6, "model.heads": 6, "model.embedding_size": 384, "model.context_length": 256,
    "training.batch_size": 16, "training.eval_batches": 1,
}


def max_rss_kib(time_log):
    with open(time_log) as file:
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", file.read())
    if not match:
        raise SystemExit(f"error: no 'Maximum resident set size' in {time_log}: is /usr/bin/time GNU time?")
    return int(match.group(1))


def run(command, env, time_log):
    completed = subprocess.run(["/usr/bin/time", "-v", "-o", time_log, *command], env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"error: {' '.join(command)} exited with {completed.returncode}")
    return completed.stdout


def median_step(step_seconds, warmup):
    timed = step_seconds[warmup:-1]
    if not timed:
        raise SystemExit(f"error: too few steps to time: use more than {warmup + 1}")
    return statistics.median(timed)


def nanollm(args, case, threads, work):
    name = f"nanollm-{case.name}-{threads}"
    weights = os.path.join(work, f"{name}.weights")
    env = dict(os.environ, NANOLLM_THREADS=str(threads))
    stdout = run([
        args.dotnet, args.train_dll, case.config, *case.settings(args.corpus),
        "--set", "training.checkpoint_interval=0", "--set", f"weights.path={json.dumps(weights)}",
    ], env, os.path.join(work, f"{name}.time"))
    summary = stdout.strip().splitlines()[-1]
    fields = dict(part.split("=", 1) for part in summary.split()[1:] if "=" in part)
    with open(weights + ".metrics.csv") as file:
        elapsed = [float(row["elapsed_s"]) for row in csv.DictReader(file)]
    step_seconds = [b - a for a, b in zip([0.0] + elapsed, elapsed)]
    return {
        "implementation": "NanoLlm",
        "threads": threads,
        "step_s": median_step(step_seconds, case.warmup),
        "tokens_per_step": case.tokens_per_step,
        "val_loss": float(fields["val_loss"]),
        "rss_kib": max_rss_kib(os.path.join(work, f"{name}.time")),
        "note": f"NANOLLM_THREADS={threads}",
    }


def pytorch(args, case, threads, work):
    time_log = os.path.join(work, f"pytorch-{case.name}-{threads}.time")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    stdout = run([
        args.python, os.path.join(HERE, "train.py"), case.config, "--threads", str(threads), "--json", "--no-save",
        *case.settings(args.corpus),
    ], env, time_log)
    result = json.loads(stdout.strip().splitlines()[-1])
    if result["threads"] != threads:
        raise SystemExit(f"error: torch.get_num_threads() is {result['threads']}, not {threads}")
    return {
        "implementation": "PyTorch",
        "threads": threads,
        "step_s": median_step(result["step_seconds"], case.warmup),
        "tokens_per_step": result["tokens_per_step"],
        "val_loss": result["val_loss"],
        "rss_kib": max_rss_kib(time_log),
        "note": f"torch {result['torch']}, get_num_threads()={result['threads']}",
    }


def libtorch(args, case, threads, work):
    time_log = os.path.join(work, f"libtorch-{case.name}-{threads}.time")
    timed = case.steps - case.warmup - 1
    stdout = run([
        args.dotnet, args.libtorch_dll, "--threads", str(threads), "--steps", str(timed), "--warmup", str(case.warmup),
        "--batch", str(case.batch), "--length", str(case.length), "--channels", str(case.channels),
        "--layers", str(case.layers), "--heads", str(case.heads), "--vocab", str(case.vocab),
    ], dict(os.environ, OMP_NUM_THREADS=str(threads)), time_log)
    result = json.loads(stdout.strip().splitlines()[-1])
    if result["threads"] != threads:
        raise SystemExit(f"error: LibTorch's get_num_threads() is {result['threads']}, not {threads}")
    return {
        "implementation": "LibTorch",
        "threads": threads,
        "step_s": result["step_s"],
        "tokens_per_step": result["tokens_per_step"],
        "val_loss": None,
        "rss_kib": max_rss_kib(time_log),
        "note": f"LibTorch {result['torch']} (TorchSharp), get_num_threads()={result['threads']}, random tokens",
    }


def measured_peak(args):
    """{threads: GFLOP/s} from NanoLlm.Bench --peak, or {} without --bench-dll."""
    if not args.bench_dll:
        return {}
    completed = subprocess.run([args.dotnet, args.bench_dll, "--peak"], capture_output=True, text=True)
    line = next((l for l in completed.stdout.splitlines() if l.startswith("peak GFLOP/s")), None)
    if completed.returncode != 0 or line is None:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(f"error: {args.bench_dll} --peak did not print its peak line")
    print(completed.stdout)
    return {int(t): float(g) for t, g in re.findall(r"threads=(\d+) ([\d.]+)", line)}


def table(case, rows, thread_counts, peak, missing):
    """Prints the case's rows, ratio lines and the peers that could not run; returns {peer: {threads: ratios}}."""
    print(f"{case.config}{' (larger case)' if case.name == 'larger' else ''}, {case.steps} steps of {case.tokens_per_step} "
          f"tokens; ms/step: median of steps {case.warmup + 1}-{case.steps - 1}; peak RSS: /usr/bin/time -v; "
          f"MFU: {case.flops_per_token() / 1e6:.2f} MFLOP a token against the measured peak")
    header = f"{'implementation':<17} {'threads':>7} {'ms/step':>8} {'tokens/s':>9} {'peak RSS MiB':>12} {'val_loss':>8} {'MFU':>6}  notes"
    print(header)
    print("-" * len(header))
    ratios = {}
    for threads in thread_counts:
        by_side = {r["implementation"]: r for r in rows if r["threads"] == threads}
        for row in by_side.values():
            row["tokens_per_s"] = row["tokens_per_step"] / row["step_s"]
            mfu = f"{case.flops_per_token() * row['tokens_per_s'] / (peak[threads] * 1e9):.1%}" if threads in peak else "-"
            val = f"{row['val_loss']:>8.4f}" if row["val_loss"] is not None else f"{'-':>8}"
            print(f"{row['implementation']:<17} {threads:>7} {row['step_s'] * 1000:>8.1f} {row['tokens_per_s']:>9.0f} "
                  f"{row['rss_kib'] / 1024:>12.1f} {val} {mfu:>6}  {row['note']}")
        n = by_side["NanoLlm"]
        for peer in ("PyTorch", "LibTorch"):
            if peer not in by_side:
                continue
            p = by_side[peer]
            r = ratios.setdefault(peer, {})[threads] = {
                "step": n["step_s"] / p["step_s"], "tokens": n["tokens_per_s"] / p["tokens_per_s"],
                "rss": n["rss_kib"] / p["rss_kib"],
                "val": n["val_loss"] - p["val_loss"] if p["val_loss"] is not None else None,
            }
            val = f"{r['val']:>+8.4f}" if r["val"] is not None else f"{'-':>8}"
            print(f"{'NanoLlm/' + peer:<17} {threads:>7} {r['step']:>8.2f} {r['tokens']:>9.2f} {r['rss']:>12.2f} "
                  f"{val} {'':>6}  ratios{' (val_loss: difference)' if r['val'] is not None else ''}")
    for peer, reason in missing.items():
        print(f"{peer:<17} not run: {reason}")
    print()
    return ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-dll", required=True, help="NanoLlm.Train.dll, built")
    parser.add_argument("--corpus", required=True, help="tinyshakespeare.txt")
    parser.add_argument("--config", default="configs/shakespeare-baby.toml")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--larger-steps", type=int, default=20, help="steps of the larger case; 0 skips it")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--dotnet", default="dotnet")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--bench-dll", help="NanoLlm.Bench.dll, built: measures the FMA peak for the MFU column")
    parser.add_argument("--libtorch-dll", help="NanoLlm.Bench.LibTorch.dll, built and prepared (tools/libtorch/prepare)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (weights, metrics, time logs)")
    args = parser.parse_args()
    if args.steps < BABY_WARMUP_STEPS + 2:
        raise SystemExit(f"error: --steps {args.steps}: needs at least {BABY_WARMUP_STEPS + 2} ({BABY_WARMUP_STEPS} warm-up steps, the last is not timed)")
    if 0 < args.larger_steps < LARGER_WARMUP_STEPS + 2:
        raise SystemExit(f"error: --larger-steps {args.larger_steps}: needs 0 or at least {LARGER_WARMUP_STEPS + 2}")
    if not os.path.isfile(args.corpus):
        raise SystemExit(f"error: {args.corpus} is missing: make data (or DATA_SOURCE=path/to/tinyshakespeare.txt)")
    cases = [Case("baby", args.config, args.steps, BABY_WARMUP_STEPS, {})]
    if args.larger_steps > 0:
        cases.append(Case("larger", args.config, args.larger_steps, LARGER_WARMUP_STEPS, LARGER_OVERRIDES))
    thread_counts = [int(t) for t in args.threads.split(",")]
    sides, missing = [nanollm], {}
    if subprocess.run([args.python, "-c", "import torch"], capture_output=True).returncode == 0:
        sides.append(pytorch)
    else:
        missing["PyTorch"] = f"no torch for {args.python}: apt-get install -y python3-torch libopenblas0-openmp"
    if args.libtorch_dll and os.path.isfile(args.libtorch_dll):
        sides.append(libtorch)
    else:
        missing["LibTorch 2.10"] = ("bench/NanoLlm.Bench.LibTorch is not built: make bench-peers builds it (TorchSharp-cpu "
                                    "from NuGet, about 1 GB on disk) and runs tools/libtorch/prepare (needs patchelf and gcc)")
    peak = measured_peak(args)

    work = tempfile.mkdtemp(prefix="bench-peers-")
    rows = {case.name: [] for case in cases}
    try:
        for case in cases:
            for threads in thread_counts:
                for side in sides:
                    print(f"running {side.__name__}, {case.name}, {threads} thread(s), {case.steps} steps ...", file=sys.stderr, flush=True)
                    rows[case.name].append(side(args, case, threads, work))
    finally:
        if args.keep:
            print(f"scratch kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    ratios = {case.name: table(case, rows[case.name], thread_counts, peak, missing) for case in cases}
    for peer in ("LibTorch", "PyTorch"):
        if "larger" in ratios and peer in ratios["larger"]:
            larger = "; ".join(f"threads={t} {ratios['larger'][peer][t]['tokens']:.2f}" for t in thread_counts)
            print(f"NanoLlm/{peer} larger case tokens_per_s ratio: {larger}")
    for peer in ("LibTorch", "PyTorch"):
        if peer not in ratios["baby"]:
            continue
        baby = ratios["baby"][peer]
        last = baby[thread_counts[-1]]
        tokens = "; ".join(f"threads={t} {baby[t]['tokens']:.2f}" for t in thread_counts)
        val = f"; val_loss diff {last['val']:.3f}" if last["val"] is not None else ""
        print(f"NanoLlm/{peer} tokens_per_s ratio: {tokens}; peak_rss ratio {last['rss']:.2f}{val}")


if __name__ == "__main__":
    main()
