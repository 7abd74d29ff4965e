# NanoLlm: build, test, lint, train, chat, bench. Run from the repository root.
DOTNET        ?= dotnet
CONFIGURATION ?= Release
CONFIG        ?= configs/bigram.toml
PROMPT        ?=
BENCH         ?=
# Tiny Shakespeare for the benchmarks (and later the tests): a path to tinyshakespeare.txt.
DATA_SOURCE   ?= data/tinyshakespeare.txt

BIN_TRAIN = src/NanoLlm.Train/bin/$(CONFIGURATION)/net10.0/NanoLlm.Train.dll
BIN_CHAT  = src/NanoLlm.Chat/bin/$(CONFIGURATION)/net10.0/NanoLlm.Chat.dll
BUILD     = $(DOTNET) build --nologo -v quiet -c $(CONFIGURATION)

.PHONY: build test lint format train chat bench bench-kernels bench-openblas

build:
	$(BUILD) NanoLlm.slnx

# Results go to TestResults/ as TRX files too, so CI can count them.
test:
	$(DOTNET) test NanoLlm.slnx --nologo -c $(CONFIGURATION) --logger "trx" --logger "console;verbosity=minimal" --results-directory TestResults

lint:
	$(DOTNET) format NanoLlm.slnx --verify-no-changes
	$(BUILD) NanoLlm.slnx -warnaserror

format:
	$(DOTNET) format NanoLlm.slnx

train:
	@$(BUILD) src/NanoLlm.Train >/dev/null || $(BUILD) src/NanoLlm.Train
	$(DOTNET) $(BIN_TRAIN) $(CONFIG) $(ARGS)

# With PROMPT set: one completion to stdout. Without: the terminal chat (Esc quits).
chat:
	@$(BUILD) src/NanoLlm.Chat >/dev/null || $(BUILD) src/NanoLlm.Chat
ifeq ($(strip $(PROMPT)),)
	$(DOTNET) $(BIN_CHAT) $(CONFIG) $(ARGS)
else
	$(DOTNET) $(BIN_CHAT) $(CONFIG) --prompt "$(PROMPT)" $(ARGS)
endif

# BENCH picks one group: BenchmarkDotNet arguments (BENCH='--filter *Bpe*') or the kernel table (BENCH='--kernels matmul',
# '--kernels rows'). Without it: every BenchmarkDotNet benchmark, then the kernel table, which ends with the
# MatMul/OpenBLAS summary line. OpenMP OpenBLAS reads its thread ceiling from OMP_NUM_THREADS; the table sets 1 and 2.
BENCH_RUN = NANOLLM_TINYSHAKESPEARE=$(abspath $(DATA_SOURCE)) OMP_NUM_THREADS=$(OMP_NUM_THREADS) $(DOTNET) run -c Release --project bench/NanoLlm.Bench --
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

# The MatMul reference for bench-kernels (Debian's OpenMP build of OpenBLAS); the library never uses it.
bench-openblas:
	apt-get update && apt-get install -y libopenblas0-openmp
