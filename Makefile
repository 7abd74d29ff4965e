# NanoLlm: build, test, lint, train, chat, explain, tokenize, import, export, serve, tool, bench, data, shakespeare, speedrun, parity. Run from the repository root.
# The system Python, where Debian's python3-torch lives (another python3 may come first on PATH).
PYTHON        ?= /usr/bin/python3
DOTNET        ?= dotnet
CONFIGURATION ?= Release
CONFIG        ?= configs/bigram.toml
PROMPT        ?=
TEXT          ?= Hello world
RESUME        ?=
BENCH         ?=
# Tiny Shakespeare lives at DATA (make data puts it there). DATA_SOURCE, when given, is a local copy to take it
# from instead of the network; the tests and benchmarks read it from DATA_SOURCE, or from DATA when unset.
DATA          ?= data/tinyshakespeare.txt
DATA_SOURCE   ?=
TINYSHAKESPEARE = $(abspath $(or $(DATA_SOURCE),$(DATA)))

BIN_TRAIN = src/NanoLlm.Train/bin/$(CONFIGURATION)/net10.0/NanoLlm.Train.dll
BIN_CHAT  = src/NanoLlm.Chat/bin/$(CONFIGURATION)/net10.0/NanoLlm.Chat.dll
BIN_TOKENIZE = src/NanoLlm.Tokenize/bin/$(CONFIGURATION)/net10.0/NanoLlm.Tokenize.dll
BIN_CONVERT = src/NanoLlm.Convert/bin/$(CONFIGURATION)/net10.0/NanoLlm.Convert.dll
BIN_EXPLAIN = src/NanoLlm.Explain/bin/$(CONFIGURATION)/net10.0/NanoLlm.Explain.dll
BIN_BENCH = bench/NanoLlm.Bench/bin/$(CONFIGURATION)/net10.0/NanoLlm.Bench.dll
BIN_SERVER = src/NanoLlm.Server/bin/$(CONFIGURATION)/net10.0/NanoLlm.Server.dll
PACKAGES  = bin/packages
BUILD     = $(DOTNET) build --nologo -v quiet -c $(CONFIGURATION)

.PHONY: build test docs lint format train chat bench bench-kernels bench-step bench-openblas data shakespeare parity bench-peers scale-out-check tokenize import export gpt2-parity llmc-loss bench-gpt2 bench-generation fuzz serve pack tool bench-serve explain bench-diagnostics prepare speedrun speedrun-short muon-parity bench-peak libtorch-peer bench-prepare

build:
	$(BUILD) NanoLlm.slnx

# Tiny Shakespeare first (some tests train on it); results go to TestResults/ as TRX files too, so CI can count them.
test: data
	NANOLLM_TINYSHAKESPEARE=$(TINYSHAKESPEARE) $(DOTNET) test NanoLlm.slnx --nologo -c $(CONFIGURATION) --logger "trx" --logger "console;verbosity=minimal" --results-directory TestResults

# The guided tour (docs/) checked against the code: references, commands, figures, snippets; FILTER=BigramExercises
# runs the tests whose names contain it (one chapter's exercises).
FILTER ?=
docs:
	$(DOTNET) test tests/NanoLlm.DocsTests --nologo -c $(CONFIGURATION) --logger "console;verbosity=minimal" $(if $(FILTER),--filter "FullyQualifiedName~$(FILTER)")

lint:
	$(DOTNET) format NanoLlm.slnx --verify-no-changes
	$(BUILD) NanoLlm.slnx -warnaserror

format:
	$(DOTNET) format NanoLlm.slnx

train:
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	$(DOTNET) $(BIN_TRAIN) $(CONFIG) $(if $(RESUME),--resume) $(ARGS)

# The run file's [prepare] text tokenized once into token shards (llm.c's format) that [training] corpus can name;
# running it again continues after the last whole shard.
prepare:
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	$(DOTNET) $(BIN_TRAIN) $(CONFIG) --prepare $(ARGS)

# With PROMPT set: one completion to stdout. Without: the terminal chat (Esc quits).
chat:
	@$(BUILD) src/NanoLlm.Chat >/dev/null || $(BUILD) src/NanoLlm.Chat
ifeq ($(strip $(PROMPT)),)
	$(DOTNET) $(BIN_CHAT) $(CONFIG) $(ARGS)
else
	$(DOTNET) $(BIN_CHAT) $(CONFIG) --prompt "$(PROMPT)" $(ARGS)
endif

# The pieces, ids and token spellings of TEXT under the run file's tokenizer.
tokenize:
	@$(BUILD) src/NanoLlm.Tokenize >/dev/null || $(BUILD) src/NanoLlm.Tokenize
	$(DOTNET) $(BIN_TOKENIZE) $(CONFIG) --text "$(TEXT)" $(ARGS)

# A GPT-2 from elsewhere -> a NanoLlm weights file: SRC is a Hugging Face directory (config.json, model.safetensors,
# vocab.json, merges.txt) or llm.c's gpt2_124M.bin (gpt2_tokenizer.bin beside it, or TOKENIZER=path).
SRC       ?=
OUT       ?=
TOKENIZER ?=
WEIGHTS   ?=
FORMAT    ?=
import:
	@test -n "$(SRC)" -a -n "$(OUT)" || { echo "usage: make import SRC=hf-dir-or-gpt2_124M.bin OUT=file.weights [TOKENIZER=gpt2_tokenizer.bin]" >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Convert >/dev/null || $(BUILD) src/NanoLlm.Convert
	$(DOTNET) $(BIN_CONVERT) import $(SRC) $(OUT) $(if $(TOKENIZER),--tokenizer $(TOKENIZER))

# A NanoLlm GPT that GPT-2 can express -> a Hugging Face directory, or llm.c's checkpoint when OUT ends in .bin
# (FORMAT=hf or llmc to choose).
export:
	@test -n "$(WEIGHTS)" -a -n "$(OUT)" || { echo "usage: make export WEIGHTS=file.weights OUT=hf-dir-or-file.bin [FORMAT=hf|llmc]" >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Convert >/dev/null || $(BUILD) src/NanoLlm.Convert
	$(DOTNET) $(BIN_CONVERT) export $(WEIGHTS) $(OUT) $(if $(FORMAT),--format $(FORMAT))

# GPT-2 files against the PyTorch twin (tools/reference/gpt2_hf.py): the twin makes a random GPT-2 directory as
# transformers saves one; NanoLlm imports it and must give the twin's logits (1e-4); the twin reads NanoLlm's export
# and must give them again; export -> import through both formats is bit-identical. GPT2_PARITY_ARGS sizes the model.
GPT2_PARITY_DIR  ?= bin/gpt2-parity
GPT2_PARITY_ARGS ?= --layers 2 --heads 4 --channels 64 --positions 128 --merges 64
gpt2-parity:
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "make gpt2-parity needs PyTorch for $(PYTHON): apt-get install python3-torch libopenblas0-openmp" >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Convert >/dev/null || $(BUILD) src/NanoLlm.Convert
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	rm -rf $(GPT2_PARITY_DIR)
	$(PYTHON) tools/reference/gpt2_hf.py make $(GPT2_PARITY_DIR)/twin $(GPT2_PARITY_ARGS)
	$(PYTHON) tools/reference/gpt2_hf.py logits $(GPT2_PARITY_DIR)/twin $(GPT2_PARITY_DIR)/twin-logits.safetensors
	$(DOTNET) $(BIN_CONVERT) import $(GPT2_PARITY_DIR)/twin $(GPT2_PARITY_DIR)/imported.weights
	$(DOTNET) $(BIN_BENCH) --logits-check $(GPT2_PARITY_DIR)/imported.weights $(GPT2_PARITY_DIR)/twin-logits.safetensors
	$(DOTNET) $(BIN_CONVERT) export $(GPT2_PARITY_DIR)/imported.weights $(GPT2_PARITY_DIR)/exported
	$(PYTHON) tools/reference/gpt2_hf.py logits $(GPT2_PARITY_DIR)/exported $(GPT2_PARITY_DIR)/exported-logits.safetensors
	$(DOTNET) $(BIN_BENCH) --logits-check $(GPT2_PARITY_DIR)/imported.weights $(GPT2_PARITY_DIR)/exported-logits.safetensors
	$(DOTNET) $(BIN_CONVERT) import $(GPT2_PARITY_DIR)/exported $(GPT2_PARITY_DIR)/from-hf.weights
	$(DOTNET) $(BIN_BENCH) --same-weights $(GPT2_PARITY_DIR)/imported.weights $(GPT2_PARITY_DIR)/from-hf.weights
	$(DOTNET) $(BIN_CONVERT) export $(GPT2_PARITY_DIR)/imported.weights $(GPT2_PARITY_DIR)/llmc/gpt2.bin
	$(DOTNET) $(BIN_CONVERT) import $(GPT2_PARITY_DIR)/llmc/gpt2.bin $(GPT2_PARITY_DIR)/from-llmc.weights
	$(DOTNET) $(BIN_BENCH) --same-weights $(GPT2_PARITY_DIR)/imported.weights $(GPT2_PARITY_DIR)/from-llmc.weights
	$(DOTNET) $(BIN_CONVERT) export $(GPT2_PARITY_DIR)/from-hf.weights $(GPT2_PARITY_DIR)/exported-again
	cmp $(GPT2_PARITY_DIR)/exported/model.safetensors $(GPT2_PARITY_DIR)/exported-again/model.safetensors
	@echo "gpt2-parity: all checks held"

# llm.c's own training loss on a NanoLlm export: NanoLlm writes a small random GPT-2 (2 layers, 64 wide, GPT-2's
# vocabulary) and one batch of configs/corpus.txt in GPT-2 tokens; make's export writes llm.c's checkpoint beside
# them; LLMC=path to llm.c's source has its train_gpt2.c built (gcc -O3 -march=native, one step) and run there, and
# its step-0 loss must equal NanoLlm's on the same batch within 1e-4.
LLMC_LOSS_DIR ?= bin/llmc-loss
llmc-loss:
	@test -n "$(LLMC)" || { echo "usage: make llmc-loss LLMC=path/to/llm.c (its source: train_gpt2.c and llmc/)" >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Convert >/dev/null || $(BUILD) src/NanoLlm.Convert
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	rm -rf $(LLMC_LOSS_DIR)
	$(DOTNET) $(BIN_BENCH) --llmc-loss-inputs $(LLMC_LOSS_DIR) configs/corpus.txt
	$(DOTNET) $(BIN_CONVERT) export $(LLMC_LOSS_DIR)/model.weights $(LLMC_LOSS_DIR)/gpt2_124M.bin
	$(DOTNET) $(BIN_BENCH) --llmc-loss $(LLMC_LOSS_DIR) $(abspath $(LLMC))

# A GPT-2-124M-shaped training step (batch 4 x GPT2_LENGTHS) at 1 and 2 threads in NanoLlm, LibTorch 2.10 and, given
# LLMC=path to llm.c's source, its train_gpt2.c (built here with gcc -Ofast -march=native -fopenmp, run on a random
# checkpoint and Tiny Shakespeare's GPT-2 tokens written to GPT2_WORK): ms/step, tokens/s, peak RSS, MFU; then
# generation with the KV cache against the copy-bandwidth limit (GPT2_GENERATION=0 skips it).
GPT2_LENGTHS    ?= 64,1024
GPT2_STEPS      ?= 3
GPT2_WORK       ?= bin/bench-gpt2
GPT2_GENERATION ?= 1
LLMC            ?=
bench-gpt2: data
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	@$(MAKE) --no-print-directory libtorch-peer || echo "LibTorch 2.10 peer could not be built (see above): its row says so" >&2
	$(DOTNET) $(BIN_BENCH) --gpt2-step --work $(GPT2_WORK) --corpus $(TINYSHAKESPEARE) --libtorch $(BIN_LIBTORCH) $(if $(LLMC),--llmc $(abspath $(LLMC))) --threads $(BENCH_THREADS) --lengths $(GPT2_LENGTHS) --steps $(GPT2_STEPS)
ifneq ($(GPT2_GENERATION),0)
	$(DOTNET) $(BIN_BENCH) --gpt2-generation
endif

# Generation alone (bench-gpt2 ends with it): a GPT-2-124M-shaped model with the KV cache at 1 and 2 threads against
# the memory-bandwidth limit, a token broken down by part, the matrix-vector kernel beside the previous one.
bench-generation:
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	$(DOTNET) $(BIN_BENCH) --gpt2-generation

# The weights over OpenAI's HTTP API on 127.0.0.1 ([server] in the run file); PORT= overrides its port, 0 picks a
# free one. It prints the address it listens on; Ctrl-C stops it.
PORT ?=
serve:
	@$(BUILD) src/NanoLlm.Server >/dev/null || $(BUILD) src/NanoLlm.Server
	$(DOTNET) $(BIN_SERVER) $(CONFIG) $(if $(PORT),--set server.port=$(PORT)) $(ARGS)

# NuGet packages of the library, NanoLlm.Extensions.AI and the nanollm tool, in $(PACKAGES).
pack:
	$(DOTNET) pack src/NanoLlm -c $(CONFIGURATION) -o $(PACKAGES) --nologo
	$(DOTNET) pack src/NanoLlm.Extensions.AI -c $(CONFIGURATION) -o $(PACKAGES) --nologo
	$(DOTNET) pack src/NanoLlm.Tool -c $(CONFIGURATION) -o $(PACKAGES) --nologo

# The nanollm tool, packed and installed (global) from $(PACKAGES). The install restores into a package cache of its
# own, so a reinstall of the same version takes the new package, not one cached before.
tool:
	$(DOTNET) pack src/NanoLlm.Tool -c $(CONFIGURATION) -o $(PACKAGES) --nologo
	-@$(DOTNET) tool uninstall --global NanoLlm.Tool >/dev/null 2>&1
	rm -rf $(PACKAGES)/restore
	NUGET_PACKAGES=$(abspath $(PACKAGES))/restore $(DOTNET) tool install --global --add-source $(PACKAGES) NanoLlm.Tool

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

# This machine's floating-point peak: register-only FMA chains at each vector width on 1 and 2 pinned threads (the
# denominator of every MFU the benchmarks print).
bench-peak:
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	$(DOTNET) $(BIN_BENCH) --peak

# Where one training step spends its time, part by part, at each of BENCH_THREADS, then ms/step, tokens/s and MFU
# against the measured peak. BENCH_SHAPE: baby (default), 10m, gpt2-64, gpt2-1024, or keys such as
# layers=6,channels=384,heads=6,length=256,batch=16,vocab=256 (context=N; the rest from baby). BENCH_CONFIG, when
# given, is a run file whose model (every [model] option), batch and optimizer (Muon included) are timed instead.
BENCH_SHAPE   ?= baby
BENCH_CONFIG  ?=
BENCH_THREADS ?= 1,2
bench-step:
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	$(DOTNET) $(BIN_BENCH) --step $(if $(BENCH_CONFIG),--config $(BENCH_CONFIG),--shape $(BENCH_SHAPE)) --threads $(BENCH_THREADS)

# Preparing token shards against the tokenizer alone: PREPARE_CORPUS (PREPARE_MB MiB of Tiny Shakespeare's lines
# shuffled by a seeded generator, written there when missing) encoded on one thread, then prepared into shards under
# PREPARE_OUTPUT at each of BENCH_THREADS; MB/s, CPU, collections and peak memory of each, and the preparation on the
# most threads against that many times the one-thread encoding. About two minutes for the 2 GiB default.
PREPARE_CORPUS    ?= /tmp/nanollm-2gb/text
PREPARE_MB        ?= 2048
PREPARE_TOKENIZER ?= gpt2
PREPARE_OUTPUT    ?= /tmp/nanollm-bench-prepare
bench-prepare: data
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	@test -d $(PREPARE_CORPUS) || NANOLLM_TINYSHAKESPEARE=$(TINYSHAKESPEARE) $(DOTNET) $(BIN_BENCH) --shuffled-corpus $(PREPARE_CORPUS) $(PREPARE_MB) 1337
	$(DOTNET) $(BIN_BENCH) --prepare-speed $(PREPARE_TOKENIZER) $(PREPARE_CORPUS) $(PREPARE_OUTPUT) --threads $(BENCH_THREADS)

# The server under load (loopback only, bounded in time): SERVE_CLIENTS concurrent streaming clients, each level for
# SERVE_SECONDS, on the weights of SERVE_CONFIG (train them first); p50/p99 time to first token, aggregate tokens/s,
# failures and the server's peak RSS, and each level's tokens/s over one client's.
SERVE_CONFIG  ?= configs/shakespeare-baby.toml
SERVE_CLIENTS ?= 1,4,16
SERVE_SECONDS ?= 20
SERVE_TOKENS  ?= 128
bench-serve:
	@$(BUILD) src/NanoLlm.Server >/dev/null || $(BUILD) src/NanoLlm.Server
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	$(DOTNET) $(BIN_BENCH) --serve-load $(SERVE_CONFIG) --server $(BIN_SERVER) --clients $(SERVE_CLIENTS) --seconds $(SERVE_SECONDS) --max-tokens $(SERVE_TOKENS)

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

# The speedrun: the best model a time budget buys (30 minutes of training), then a sample. speedrun-short spends 10,
# with less dropout (0.1, none on the attention weights): 10 minutes are about 4 passes over the corpus, not 12.
# ARGS adds overrides to the run (ARGS="--set model.qk_norm=false" for an ablation).
SPEEDRUN_CONFIG ?= configs/shakespeare-speedrun.toml
speedrun: data
	@$(MAKE) --no-print-directory train CONFIG=$(SPEEDRUN_CONFIG) ARGS="$(ARGS)$(if $(SPEEDRUN_MINUTES), --set training.time_budget_minutes=$(SPEEDRUN_MINUTES))"
	@$(MAKE) --no-print-directory chat CONFIG=$(SPEEDRUN_CONFIG) PROMPT="ROMEO:"

speedrun-short:
	@$(MAKE) --no-print-directory speedrun SPEEDRUN_MINUTES=10 ARGS="--set model.dropout=0.1 --set model.attention_dropout=0 $(ARGS)"

# NanoLlm's GPT against its PyTorch twin (tools/reference): the same weights and batch, loss and logits within 1e-4,
# gradients within 1e-3, for each positional/tied variant and architecture option; then NanoLlm must read the weights files the twin wrote
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

# NanoLlm's Muon against the twin's (tools/reference/muon.py): the same GPT weights and three steps' gradients, the
# weights after Muon (hidden matrices) and AdamW (the rest) took them must agree within 1e-6.
MUON_PARITY_DIR ?= bin/muon-parity
muon-parity:
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "make muon-parity needs PyTorch for $(PYTHON): apt-get install python3-torch libopenblas0-openmp" >&2; exit 2; }
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	rm -rf $(MUON_PARITY_DIR)
	$(DOTNET) $(BIN_BENCH) --muon-parity $(MUON_PARITY_DIR)
	OMP_NUM_THREADS=$(PARITY_THREADS) $(PYTHON) tools/reference/muon_parity.py $(MUON_PARITY_DIR)

# NanoLlm against its PyTorch twin (tools/reference/train.py) and LibTorch 2.10 (bench/NanoLlm.Bench.LibTorch) on the
# baby recipe: the same steps at 1 and 2 threads (NANOLLM_THREADS; torch.set_num_threads and OMP_NUM_THREADS), one
# after the other; prints ms/step, tokens/s, peak RSS, MFU against the measured peak (make bench-peak) and the final
# validation loss of each, and the ratios. PEER_STEPS sets the steps; then the same for a larger model (6 layers, 384
# wide, context 256, batch 16) for PEER_LARGER_STEPS steps (0 skips it). A peer that cannot run says how to provide it.
PEER_STEPS   ?= 200
PEER_LARGER_STEPS ?= 20
PEER_THREADS ?= 1,2
PEER_CONFIG  ?= configs/shakespeare-baby.toml
bench-peers: data
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	@$(MAKE) --no-print-directory libtorch-peer || echo "LibTorch 2.10 peer could not be built (see above): its row says so" >&2
	$(PYTHON) tools/reference/bench_peers.py --train-dll $(BIN_TRAIN) --bench-dll $(BIN_BENCH) --libtorch-dll $(BIN_LIBTORCH) --corpus $(TINYSHAKESPEARE) --config $(PEER_CONFIG) --steps $(PEER_STEPS) --larger-steps $(PEER_LARGER_STEPS) --threads $(PEER_THREADS) --dotnet $(DOTNET) --python $(PYTHON)

# The LibTorch 2.10 peer (TorchSharp-cpu; about 1 GB of native libraries, restored only here, never by build, test or
# CI), made loadable on an older libstdc++ by tools/libtorch/prepare (patchelf, gcc; idempotent).
LIBTORCH_OUT = bench/NanoLlm.Bench.LibTorch/bin/$(CONFIGURATION)/net10.0
BIN_LIBTORCH = $(LIBTORCH_OUT)/NanoLlm.Bench.LibTorch.dll
libtorch-peer:
	@$(BUILD) bench/NanoLlm.Bench.LibTorch >/dev/null || $(BUILD) bench/NanoLlm.Bench.LibTorch
	@command -v patchelf >/dev/null || apt-get install -y patchelf >/dev/null || true
	bash tools/libtorch/prepare $(LIBTORCH_OUT)

# The weights file as the meeting point with the twin trained under torchrun (tools/reference/scale_out_check.py):
# 2 processes (gloo) against 1 at step 1, the twin against NanoLlm, NanoLlm's logits on the 2-process weights,
# NanoLlm resuming the twin's checkpoint, and NanoLlm -> twin -> NanoLlm bit-identical. About a minute.
scale-out-check: data
	@$(PYTHON) -c 'import torch' 2>/dev/null || { echo "make scale-out-check needs PyTorch for $(PYTHON): apt-get install python3-torch libopenblas0-openmp" >&2; exit 2; }
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	@$(BUILD) bench/NanoLlm.Bench >/dev/null || $(BUILD) bench/NanoLlm.Bench
	$(PYTHON) tools/reference/scale_out_check.py --train-dll $(BIN_TRAIN) --bench-dll $(BIN_BENCH) --corpus $(TINYSHAKESPEARE) --dotnet $(DOTNET)

# Coverage-guided fuzzing (afl-fuzz over SharpFuzz) of one reader for SECONDS seconds: TARGET is one of safetensors,
# weights, checkpoint, run-file, tokenizer, tiktoken, hf-vocab, hf-tokenizer-json, slash-command, decode. Installs afl++ and the instrumenter when missing;
# crashes and hangs land in bin/fuzz/TARGET/findings and make it fail. Run it under nice: it keeps a core busy.
TARGET  ?=
SECONDS ?= 600
fuzz:
	@DOTNET=$(DOTNET) bash tools/fuzz/run "$(TARGET)" "$(SECONDS)"
