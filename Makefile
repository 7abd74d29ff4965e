# NanoLlm: build, test, lint, train, chat, explain, bench, data, shakespeare, parity. Run from the repository root.
# The system Python, where Debian's python3-torch lives (another python3 may come first on PATH).
PYTHON        ?= /usr/bin/python3
DOTNET        ?= dotnet
CONFIGURATION ?= Release
CONFIG        ?= configs/bigram.toml
PROMPT        ?=
RESUME        ?=
BENCH         ?=
# Tiny Shakespeare lives at DATA (make data puts it there). DATA_SOURCE, when given, is a local copy to take it
# from instead of the network; the tests and benchmarks read it from DATA_SOURCE, or from DATA when unset.
DATA          ?= data/tinyshakespeare.txt
DATA_SOURCE   ?=
TINYSHAKESPEARE = $(abspath $(or $(DATA_SOURCE),$(DATA)))

BIN_TRAIN = src/NanoLlm.Train/bin/$(CONFIGURATION)/net10.0/NanoLlm.Train.dll
BIN_CHAT  = src/NanoLlm.Chat/bin/$(CONFIGURATION)/net10.0/NanoLlm.Chat.dll
BIN_EXPLAIN = src/NanoLlm.Explain/bin/$(CONFIGURATION)/net10.0/NanoLlm.Explain.dll
BIN_BENCH = bench/NanoLlm.Bench/bin/$(CONFIGURATION)/net10.0/NanoLlm.Bench.dll
BUILD     = $(DOTNET) build --nologo -v quiet -c $(CONFIGURATION)

.PHONY: build test lint format train chat explain bench bench-kernels bench-step bench-diagnostics bench-openblas data shakespeare parity bench-peers scale-out-check

build:
	$(BUILD) NanoLlm.slnx

# Tiny Shakespeare first (some tests train on it); results go to TestResults/ as TRX files too, so CI can count them.
test: data
	NANOLLM_TINYSHAKESPEARE=$(TINYSHAKESPEARE) $(DOTNET) test NanoLlm.slnx --nologo -c $(CONFIGURATION) --logger "trx" --logger "console;verbosity=minimal" --results-directory TestResults

lint:
	$(DOTNET) format NanoLlm.slnx --verify-no-changes
	$(BUILD) NanoLlm.slnx -warnaserror

format:
	$(DOTNET) format NanoLlm.slnx

train:
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	$(DOTNET) $(BIN_TRAIN) $(CONFIG) $(if $(RESUME),--resume) $(ARGS)

# With PROMPT set: one completion to stdout. Without: the terminal chat (Esc quits).
chat:
	@$(BUILD) src/NanoLlm.Chat >/dev/null || $(BUILD) src/NanoLlm.Chat
ifeq ($(strip $(PROMPT)),)
	$(DOTNET) $(BIN_CHAT) $(CONFIG) $(ARGS)
else
	$(DOTNET) $(BIN_CHAT) $(CONFIG) --prompt "$(PROMPT)" $(ARGS)
endif

# What the trained model does with PROMPT: attention maps (one PNG per layer) and the top next-token probabilities
# (a PNG and a table on stdout), written beside the weights.
explain:
	@test -n "$(PROMPT)" || { echo 'make explain needs a prompt: make explain CONFIG=$(CONFIG) PROMPT="ROMEO:"' >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Explain >/dev/null || $(BUILD) src/NanoLlm.Explain
	$(DOTNET) $(BIN_EXPLAIN) $(CONFIG) --prompt "$(PROMPT)" $(ARGS)

# BENCH picks one group: BenchmarkDotNet arguments (BENCH='--filter *Bpe*') or the kernel table (BENCH='--kernels matmul',
# '--kernels rows'). Without it: every BenchmarkDotNet benchmark, then the kernel table, which ends with the
# MatMul/OpenBLAS summary line. OpenMP OpenBLAS reads its thread ceiling from OMP_NUM_THREADS; the table sets 1 and 2.
BENCH_RUN = NANOLLM_TINYSHAKESPEARE=$(TINYSHAKESPEARE) OMP_NUM_THREADS=$(OMP_NUM_THREADS) $(DOTNET) run -c Release --project bench/NanoLlm.Bench --
OMP_NUM_THREADS ?= 2

bench:
ifeq ($(strip $(BENCH)),)
	$(BENCH_RUN) --filter '*'
	$(BENCH_RUN) --kernels
else
	$(BENCH_RUN) $(BENCH)
endif

# The kernels side by side with OpenBLAS's sgemm and their naive scalar twins (a minute or two).
bench-kernels:
	$(BENCH_RUN) --kernels

# Where one training step of the baby GPT spends its time, layer by layer.
bench-step:
	$(BENCH_RUN) --step

# What diagnostics_interval = 100 costs the baby GPT's training: a step and the diagnostics' work, timed interleaved.
bench-diagnostics:
	$(BENCH_RUN) --diagnostics configs/shakespeare-baby.toml

# The MatMul reference for bench-kernels (Debian's OpenMP build of OpenBLAS); the library never uses it.
bench-openblas:
	apt-get update && apt-get install -y libopenblas0-openmp

# Tiny Shakespeare at $(DATA), checked against its SHA-256: copied from DATA_SOURCE or downloaded.
data:
	@bash tools/data/fetch-tinyshakespeare $(DATA) $(DATA_SOURCE)

# The whole point: data, a GPT trained on Tiny Shakespeare, and a sample of what it writes.
shakespeare: data
	@$(MAKE) --no-print-directory train CONFIG=configs/shakespeare.toml
	@$(MAKE) --no-print-directory chat CONFIG=configs/shakespeare.toml PROMPT="ROMEO:"

# NanoLlm's GPT against its PyTorch twin (tools/reference): the same weights and batch, loss and logits within 1e-4,
# gradients within 1e-3, for each positional/tied variant; then NanoLlm must read the weights files the twin wrote
# as the same models. PARITY_THREADS sets torch's (OpenMP's) thread count.
PARITY_DIR     ?= bin/parity
PARITY_THREADS ?= 1
parity:
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "make parity needs PyTorch for $(PYTHON): apt-get install python3-torch libopenblas0-openmp" >&2; exit 2; }
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	rm -rf $(PARITY_DIR)
	$(DOTNET) $(BIN_BENCH) --parity $(PARITY_DIR)
	OMP_NUM_THREADS=$(PARITY_THREADS) $(PYTHON) tools/reference/parity.py $(PARITY_DIR)
	$(DOTNET) $(BIN_BENCH) --parity-check $(PARITY_DIR)

# NanoLlm against its PyTorch twin (tools/reference/train.py) on the baby recipe: the same steps at 1 and 2 threads
# (NANOLLM_THREADS; torch.set_num_threads and OMP_NUM_THREADS), one after the other; prints ms/step, tokens/s, peak
# RSS and the final validation loss of each, and the NanoLlm/PyTorch ratios. PEER_STEPS sets the steps; then the
# same for a larger model (6 layers, 384 wide, context 256, batch 16) for PEER_LARGER_STEPS steps (0 skips it).
PEER_STEPS   ?= 200
PEER_LARGER_STEPS ?= 20
PEER_THREADS ?= 1,2
PEER_CONFIG  ?= configs/shakespeare-baby.toml
bench-peers:
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "make bench-peers needs PyTorch for $(PYTHON): apt-get install python3-torch" >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	$(PYTHON) tools/reference/bench_peers.py --train-dll $(BIN_TRAIN) --corpus $(TINYSHAKESPEARE) --config $(PEER_CONFIG) --steps $(PEER_STEPS) --larger-steps $(PEER_LARGER_STEPS) --threads $(PEER_THREADS) --dotnet $(DOTNET) --python $(PYTHON)

# The weights file as the meeting point with the twin trained under torchrun (tools/reference/scale_out_check.py):
# 2 processes (gloo) against 1 at step 1, the twin against NanoLlm, NanoLlm's logits on the 2-process weights,
# NanoLlm resuming the twin's checkpoint, and NanoLlm -> twin -> NanoLlm bit-identical. About a minute.
scale-out-check:
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "make scale-out-check needs PyTorch for $(PYTHON): apt-get install python3-torch libopenblas0-openmp" >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	$(PYTHON) tools/reference/scale_out_check.py --train-dll $(BIN_TRAIN) --bench-dll $(BIN_BENCH) --corpus $(TINYSHAKESPEARE) --dotnet $(DOTNET)
