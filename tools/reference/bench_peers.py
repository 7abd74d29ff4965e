"""NanoLlm against its PyTorch twin on the baby recipe (make bench-peers).

    bench_peers.py --train-dll PATH --corpus PATH [--config configs/shakespeare-baby.toml] [--steps 200] [--threads 1,2]

For each thread count, one after the other: NanoLlm's train program (NANOLLM_THREADS=n) and train.py
(torch.set_num_threads(n), OMP_NUM_THREADS=n), the same run file and steps, each under `/usr/bin/time -v` for its
peak resident memory ("Maximum resident set size"). Step times: NanoLlm's from the metrics CSV (differences of
elapsed_s), the twin's from its JSON line. ms/step is the median over steps 11 … N−1: the first 10 are warm-up, and
NanoLlm's last step includes the final evaluation and the weights/checkpoint writes. tokens/s = tokens a step / that
median. val_loss: both score the same 20 batches of consecutive windows from the start of the last 10 % of the
text. Prints one table and a last line with the NanoLlm/PyTorch ratios (peak RSS ratio and val_loss difference at
the largest thread count).
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

WARMUP_STEPS = 10
HERE = os.path.dirname(os.path.abspath(__file__))


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


def median_step(step_seconds):
    timed = step_seconds[WARMUP_STEPS:-1]
    if not timed:
        raise SystemExit(f"error: too few steps to time: use more than {WARMUP_STEPS + 1}")
    return statistics.median(timed)


def nanollm(args, threads, work):
    weights = os.path.join(work, f"nanollm-{threads}.weights")
    env = dict(os.environ, NANOLLM_THREADS=str(threads))
    stdout = run([
        args.dotnet, args.train_dll, args.config,
        "--set", f"training.steps={args.steps}", "--set", "training.eval_interval=0",
        "--set", "training.checkpoint_interval=0", "--set", f"training.corpus={json.dumps(args.corpus)}",
        "--set", f"weights.path={json.dumps(weights)}",
    ], env, os.path.join(work, f"nanollm-{threads}.time"))
    summary = stdout.strip().splitlines()[-1]
    fields = dict(part.split("=", 1) for part in summary.split()[1:] if "=" in part)
    with open(weights + ".metrics.csv") as file:
        elapsed = [float(row["elapsed_s"]) for row in csv.DictReader(file)]
    step_seconds = [b - a for a, b in zip([0.0] + elapsed, elapsed)]
    return {
        "implementation": "NanoLlm",
        "threads": threads,
        "step_s": median_step(step_seconds),
        "tokens_per_step": int(args.tokens_per_step),
        "val_loss": float(fields["val_loss"]),
        "rss_kib": max_rss_kib(os.path.join(work, f"nanollm-{threads}.time")),
        "note": f"NANOLLM_THREADS={threads}",
    }


def pytorch(args, threads, work):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    stdout = run([
        args.python, os.path.join(HERE, "train.py"), args.config, "--threads", str(threads), "--json", "--no-save",
        "--set", f"training.steps={args.steps}", "--set", "training.eval_interval=0",
        "--set", f"training.corpus={json.dumps(args.corpus)}",
    ], env, os.path.join(work, f"pytorch-{threads}.time"))
    result = json.loads(stdout.strip().splitlines()[-1])
    if result["threads"] != threads:
        raise SystemExit(f"error: torch.get_num_threads() is {result['threads']}, not {threads}")
    return {
        "implementation": "PyTorch",
        "threads": threads,
        "step_s": median_step(result["step_seconds"]),
        "tokens_per_step": result["tokens_per_step"],
        "val_loss": result["val_loss"],
        "rss_kib": max_rss_kib(os.path.join(work, f"pytorch-{threads}.time")),
        "note": f"torch {result['torch']}, get_num_threads()={result['threads']}",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-dll", required=True, help="NanoLlm.Train.dll, built")
    parser.add_argument("--corpus", required=True, help="tinyshakespeare.txt")
    parser.add_argument("--config", default="configs/shakespeare-baby.toml")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--dotnet", default="dotnet")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (weights, metrics, time logs)")
    args = parser.parse_args()
    if args.steps < WARMUP_STEPS + 2:
        raise SystemExit(f"error: --steps {args.steps}: needs at least {WARMUP_STEPS + 2} (10 warm-up steps, the last is not timed)")
    if not os.path.isfile(args.corpus):
        raise SystemExit(f"error: {args.corpus} is missing: make data (or DATA_SOURCE=path/to/tinyshakespeare.txt)")
    import tomllib
    with open(args.config, "rb") as file:
        recipe = tomllib.load(file)
    args.tokens_per_step = recipe["training"]["batch_size"] * recipe["model"]["context_length"] * recipe["training"].get("grad_accumulation_steps", 1)
    thread_counts = [int(t) for t in args.threads.split(",")]

    work = tempfile.mkdtemp(prefix="bench-peers-")
    rows = []
    try:
        for threads in thread_counts:
            for side in (nanollm, pytorch):
                print(f"running {side.__name__} at {threads} thread(s), {args.steps} steps ...", file=sys.stderr, flush=True)
                rows.append(side(args, threads, work))
    finally:
        if args.keep:
            print(f"scratch kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"{args.config}, {args.steps} steps of {args.tokens_per_step} tokens; ms/step: median of steps "
          f"{WARMUP_STEPS + 1}-{args.steps - 1}; peak RSS: /usr/bin/time -v")
    header = f"{'implementation':<16} {'threads':>7} {'ms/step':>8} {'tokens/s':>9} {'peak RSS MiB':>12} {'val_loss':>8}  notes"
    print(header)
    print("-" * len(header))
    ratios = {}
    for threads in thread_counts:
        pair = {r["implementation"]: r for r in rows if r["threads"] == threads}
        for row in (pair["NanoLlm"], pair["PyTorch"]):
            row["tokens_per_s"] = row["tokens_per_step"] / row["step_s"]
            print(f"{row['implementation']:<16} {threads:>7} {row['step_s'] * 1000:>8.1f} {row['tokens_per_s']:>9.0f} "
                  f"{row['rss_kib'] / 1024:>12.1f} {row['val_loss']:>8.4f}  {row['note']}")
        n, p = pair["NanoLlm"], pair["PyTorch"]
        ratios[threads] = {
            "step": n["step_s"] / p["step_s"], "tokens": n["tokens_per_s"] / p["tokens_per_s"],
            "rss": n["rss_kib"] / p["rss_kib"], "val": n["val_loss"] - p["val_loss"],
        }
        r = ratios[threads]
        print(f"{'NanoLlm/PyTorch':<16} {threads:>7} {r['step']:>8.2f} {r['tokens']:>9.2f} {r['rss']:>12.2f} "
              f"{r['val']:>+8.4f}  ratios (val_loss: difference)")
    last = ratios[thread_counts[-1]]
    tokens = "; ".join(f"threads={t} {ratios[t]['tokens']:.2f}" for t in thread_counts)
    print(f"NanoLlm/PyTorch tokens_per_s ratio: {tokens}; peak_rss ratio {last['rss']:.2f}; val_loss diff {last['val']:.3f}")


if __name__ == "__main__":
    main()
