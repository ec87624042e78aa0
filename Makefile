.PHONY: bench test start fuzz

# Every benchmark, side by side with its baseline; writes docs/benchmarks.md and docs/bench/*.png.
bench:
	bash bench/run.sh

test:
	bash scripts/test.sh

start:
	bash scripts/start.sh

# Fuzzes PDF extraction and the chunker for FUZZ_SECONDS (default 1800) each; see fuzz/README.md.
fuzz:
	bash scripts/fuzz.sh
