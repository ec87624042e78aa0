.PHONY: bench test start fuzz package package-test postgres

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

# The .deb/.rpm packages and the model pack (target/packages); see "Install the packages".
package:
	bash scripts/package.sh

# Installs those packages on this machine and tests the installed app (root or sudo needed).
package-test:
	bash scripts/package-test.sh

# A local PostgreSQL with pgvector on loopback for trying the team library; prints its URL.
# (As root its data goes to /var/lib/quire/postgres: the server runs as a system user, which
# must not need a way into /root.)
postgres:
	@default=$$HOME/.local/share/quire/postgres; [ "$$(id -u)" -ne 0 ] || default=/var/lib/quire/postgres; \
	bash scripts/postgres.sh start --dir "$${QUIRE_POSTGRES_DIR:-$$default}"
