"""NanoLlm against its PyTorch twin on the baby recipe and a larger model (make bench-peers).

    bench_peers.py --train-dll PATH --corpus PATH [--config configs/shakespeare-baby.toml] [--steps 200]
                   [--threads 1,2] [--larger-steps 20]

For each thread count, one after the other: NanoLlm's train program (NANOLLM_THREADS=n) and train.py
(torch.set_num_threads(n), OMP_NUM_THREADS=n), the same run file and steps, each under `/usr/bin/time -v` for its
peak resident memory ("Maximum resident set size"). Step times: NanoLlm's from the metrics CSV (differences of
elapsed_s), the twin's from its JSON line. ms/step is the median over the steps after the warm-up (10 for the baby
recipe, 3 for the larger case) but the last, which for NanoLlm includes the final evaluation and the
weights/checkpoint writes. tokens/s = tokens a step / that median. val_loss: both score the same batches of
consecutive windows from the start of the last 10 % of the text (20 for the baby recipe).

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
        training = recipe["training"]
        self.tokens_per_step = training["batch_size"] * recipe["model"]["context_length"] * training.get("grad_accumulation_steps", 1)

    def settings(self, corpus):
        """--set arguments shared by both sides: the steps, no evaluation until the end, the corpus, the overrides."""
        pairs = {"training.steps": self.steps, "training.eval_interval": 0, "training.corpus": corpus, **self.overrides}
        return [item for key, value in pairs.items() for item in ("--set", f"{key}={json.dumps(value)}")]


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


def table(case, rows, thread_counts):
    """Prints the case's rows and ratio lines; returns {threads: ratios}."""
    print(f"{case.config}{' (larger case)' if case.name == 'larger' else ''}, {case.steps} steps of {case.tokens_per_step} "
          f"tokens; ms/step: median of steps {case.warmup + 1}-{case.steps - 1}; peak RSS: /usr/bin/time -v")
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

    work = tempfile.mkdtemp(prefix="bench-peers-")
    rows = {case.name: [] for case in cases}
    try:
        for case in cases:
            for threads in thread_counts:
                for side in (nanollm, pytorch):
                    print(f"running {side.__name__}, {case.name}, {threads} thread(s), {case.steps} steps ...", file=sys.stderr, flush=True)
                    rows[case.name].append(side(args, case, threads, work))
    finally:
        if args.keep:
            print(f"scratch kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    ratios = {case.name: table(case, rows[case.name], thread_counts) for case in cases}
    if "larger" in ratios:
        larger = "; ".join(f"threads={t} {ratios['larger'][t]['tokens']:.2f}" for t in thread_counts)
        print(f"NanoLlm/PyTorch larger case tokens_per_s ratio: {larger}")
    baby = ratios["baby"]
    last = baby[thread_counts[-1]]
    tokens = "; ".join(f"threads={t} {baby[t]['tokens']:.2f}" for t in thread_counts)
    print(f"NanoLlm/PyTorch tokens_per_s ratio: {tokens}; peak_rss ratio {last['rss']:.2f}; val_loss diff {last['val']:.3f}")


if __name__ == "__main__":
    main()
