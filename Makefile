.PHONY: bench test start

# Every benchmark, side by side with its baseline; writes docs/benchmarks.md and docs/bench/*.png.
bench:
	bash bench/run.sh

test:
	bash scripts/test.sh

start:
	bash scripts/start.sh
