"""make scale-out-check: NanoLlm's weights file as the meeting point between NanoLlm and the twin trained under torchrun.

    scale_out_check.py --train-dll PATH --bench-dll PATH --corpus PATH [--dotnet dotnet] [--torchrun COMMAND] [--keep]

On a tiny GPT with a byte-level BPE vocabulary of 320 (so the tokenizer travels too), in a scratch folder:
  1. NanoLlm writes the untrained model (`NanoLlm.Train --init-only`) and trains it a few steps itself;
  2. the twin trains the same steps from that file in one process, and in two under
     `torchrun --nproc_per_node=2` (gloo, one thread each), with the same global batch;
and it checks, one line each:
  - the two-process run's loss at step 1 matches the one-process run's within 1e-4 (and every later step too);
  - the twin's loss at step 1 matches NanoLlm's within 1e-4 (same weights, same batches, same tokens);
  - NanoLlm loads the weights file the two-process run wrote, and its logits on a batch match the twin's within 1e-4;
  - NanoLlm continues the two-process run from its checkpoint (`NanoLlm.Train --resume`), as make train RESUME=1 does;
  - the twin continues NanoLlm's checkpoint (`train.py --resume`) as NanoLlm's own resume does (losses within 1e-4);
  - a key the twin does not implement stops it with one line naming the key and exit 2;
  - NanoLlm weights → twin → NanoLlm leaves every tensor bit-identical (the untrained file and NanoLlm's trained one).
Exits 1 when a check fails, 2 when a step cannot run.

Debian's torchrun 1.13 under Python 3.11 cannot parse its own default --redirects/--tee value ("0": Python 3.11's
IntFlag no longer lists the zero member), so the check passes --redirects 2 --tee 2 (stderr to the console and a log
file, stdout untouched); a newer torchrun needs no such flags.
"""

import argparse
import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import load_gpt, save_gpt, write_safetensors  # noqa: E402

TOLERANCE = 1e-4
STEPS = 20
RUN_FILE = """
[model]
name = "gpt"
vocab_size = 320
context_length = 32
embedding_size = 48
layers = 2
heads = 3
positional = "learned"
tie_embeddings = true

[training]
corpus = {corpus}
steps = {steps}
batch_size = 8
optimizer = "adamw"
learning_rate = 1e-2
warmup_steps = 2
lr_schedule = "cosine"
grad_clip = 1.0
eval_interval = 3
eval_batches = 4

[weights]
path = {weights}
"""


def run(command, env=None, what=""):
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        print(f"scale-out-check: {what or ' '.join(command)} exited with {completed.returncode}", file=sys.stderr)
        sys.exit(2)
    return completed.stdout


def json_line(stdout):
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def nanollm_losses(weights):
    with open(weights + ".metrics.csv") as file:
        return [float(row["loss"]) for row in csv.DictReader(file)]


def verdict(held):
    return "ok" if held else "FAILED"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-dll", required=True)
    parser.add_argument("--bench-dll", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--dotnet", default="dotnet")
    parser.add_argument("--torchrun", default=f"{sys.executable} -m torch.distributed.run", help="the torchrun command (default: this python's)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    if not os.path.isfile(args.corpus):
        print(f"scale-out-check: {args.corpus} is missing: make data (or DATA_SOURCE=path/to/tinyshakespeare.txt)", file=sys.stderr)
        sys.exit(2)

    work = tempfile.mkdtemp(prefix="scale-out-check-")
    try:
        failures = check(args, work)
    finally:
        if args.keep:
            print(f"scratch kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"scale-out-check: {'all checks hold' if failures == 0 else f'{failures} check(s) FAILED'}")
    sys.exit(1 if failures else 0)


def check(args, work):
    def run_file(name, weights):
        path = os.path.join(work, name)
        with open(path, "w") as file:
            file.write(RUN_FILE.format(corpus=json.dumps(os.path.abspath(args.corpus)), steps=STEPS, weights=json.dumps(weights)))
        return path

    initial = os.path.join(work, "initial.weights")
    nanollm_weights = os.path.join(work, "nanollm", "tiny.weights")
    one_weights = os.path.join(work, "one", "tiny.weights")
    two_weights = os.path.join(work, "two", "tiny.weights")
    dotnet = [args.dotnet, args.train_dll]
    one_thread = dict(os.environ, OMP_NUM_THREADS="1", NANOLLM_THREADS="1")
    train_py = os.path.join(HERE, "train.py")

    run(dotnet + [run_file("initial.toml", initial), "--init-only"], what="NanoLlm.Train --init-only")
    run(dotnet + [run_file("nanollm.toml", nanollm_weights)], env=one_thread, what="NanoLlm.Train")
    one = json_line(run([sys.executable, train_py, run_file("one.toml", one_weights), "--init-from", initial, "--threads", "1", "--json"],
                        env=one_thread, what="train.py (one process)"))
    two = json_line(run([*shlex.split(args.torchrun), "--redirects", "2", "--tee", "2", "--nproc_per_node=2", train_py, run_file("two.toml", two_weights),
                         "--init-from", initial, "--threads", "1", "--json", "--device", "cpu"],
                        env=one_thread, what="torchrun --nproc_per_node=2 train.py"))
    reference = nanollm_losses(nanollm_weights)
    failures = 0
    print(f"a GPT of 2 layers, 48 wide, context 32, BPE vocabulary 320, batch 8, {STEPS} steps of AdamW on {args.corpus}; "
          f"torch {torch.__version__}, {two['world_size']} processes (gloo) against 1")

    step_one = abs(two["losses"][0] - one["losses"][0])
    every_step = max(abs(a - b) for a, b in zip(two["losses"], one["losses"]))
    held = step_one <= TOLERANCE
    failures += not held
    print(f"2 processes against 1, same global batch: loss at step 1 {two['losses'][0]:.6f} and {one['losses'][0]:.6f}, "
          f"|difference| {step_one:.2e} (every step: at most {every_step:.2e}; tolerance {TOLERANCE:.0e}): {verdict(held)}")

    against_nanollm = abs(one["losses"][0] - reference[0])
    held = against_nanollm <= TOLERANCE
    failures += not held
    later = max(abs(a - b) for a, b in zip(one["losses"], reference))
    print(f"twin against NanoLlm from the same weights and batches: loss at step 1 {one['losses'][0]:.6f} and {reference[0]:.6f}, "
          f"|difference| {against_nanollm:.2e} (steps 1-{STEPS}: at most {later:.2e}; tolerance {TOLERANCE:.0e}): {verdict(held)}")

    model, metadata = load_gpt(two_weights)
    tokens = torch.arange(2 * model.config.context_length).reshape(2, -1) * 7 % model.config.vocab_size
    with torch.no_grad():
        logits, _ = model.eval()(tokens)
    batch = os.path.join(work, "batch.safetensors")
    write_safetensors(batch, {"tokens": tokens.to(torch.float32), "logits": logits}, {})
    failures += run_check(args, ["--logits-check", two_weights, batch])

    resumed = run(dotnet + [os.path.join(work, "two.toml"), "--resume", "--set", f"training.steps={STEPS + 3}"], env=one_thread,
                  what="NanoLlm.Train --resume from the twin's checkpoint").strip().splitlines()[-1]
    held = resumed.startswith(f"trained model=gpt steps={STEPS + 3} ")
    failures += not held
    print(f"NanoLlm resumes the 2-process run's checkpoint at step {STEPS} and trains to step {STEPS + 3}: {verdict(held)}")

    # The other way: the twin continues NanoLlm's checkpoint as NanoLlm itself does.
    shutil.copytree(os.path.dirname(nanollm_weights), os.path.join(work, "twin-resumed"))
    twin_resumed = os.path.join(work, "twin-resumed", "tiny.weights")
    more = ["--set", f"training.steps={STEPS + 3}"]
    run(dotnet + [os.path.join(work, "nanollm.toml"), "--resume", *more], env=one_thread, what="NanoLlm.Train --resume")
    continued = json_line(run([sys.executable, train_py, run_file("twin-resumed.toml", twin_resumed), "--resume", *more, "--threads", "1", "--json"],
                              env=one_thread, what="train.py --resume from NanoLlm's checkpoint"))
    expected = nanollm_losses(nanollm_weights)[STEPS:]
    worst = max(abs(a - b) for a, b in zip(continued["losses"], expected))
    held = len(continued["losses"]) == len(expected) == 3 and worst <= TOLERANCE
    failures += not held
    print(f"the twin resumes NanoLlm's checkpoint at step {STEPS}: steps {STEPS + 1}-{STEPS + 3} within {worst:.2e} of NanoLlm's own resume "
          f"(tolerance {TOLERANCE:.0e}): {verdict(held)}")

    refused = subprocess.run([sys.executable, train_py, os.path.join(work, "one.toml"), "--set", "training.momentum=0.9", "--no-save"],
                             capture_output=True, text=True)
    message = refused.stderr.strip()
    held = refused.returncode == 2 and "[training] momentum" in message and len(message.splitlines()) == 1
    failures += not held
    print(f"a key the twin does not take stops it with exit {refused.returncode} and one line: {message[:100]}…: {verdict(held)}")

    for original in (initial, nanollm_weights):
        model, metadata = load_gpt(original)
        round_trip = original + ".twin"
        save_gpt(model, round_trip, metadata["tokenizer"])
        failures += run_check(args, ["--same-weights", original, round_trip])
    return failures


def run_check(args, arguments):
    completed = subprocess.run([args.dotnet, args.bench_dll, *arguments], capture_output=True, text=True)
    sys.stdout.write(completed.stdout)
    if completed.returncode == 2:
        sys.stderr.write(completed.stderr)
        sys.exit(2)
    return 1 if completed.returncode != 0 else 0


if __name__ == "__main__":
    main()
