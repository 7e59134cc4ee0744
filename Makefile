# cqube-emit: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
# One target directory for every target here and for CI (.ci/run), so `make run` and `make test` share their build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/cqube-emit/target

.PHONY: run test lint build setup bench clean-demo fuzz fuzz-smoke fuzz-setup man deb

## run: end-to-end demo on the embedded store: serve, generate a cqube_emission folder, emit it, show the acknowledgements.
## Needs only cargo: no root, no apt, no database. The debug build is the one `make test` uses (the demo's data is small).
run:
	$(CARGO) build --workspace --bins
	CQUBE_EMIT_BIN=$(CARGO_TARGET_DIR)/debug/cqube-emit scripts/demo.sh

## test: formatting, clippy (warnings denied), every test against the real servers (embedded S3, moto, PostgreSQL,
## MariaDB), and two minutes of schemathesis against the served OpenAPI document
test: setup lint
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc
	scripts/schemathesis.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

build:
	$(CARGO) build --release -p cqube-emit

## man: regenerates man/ (one page per subcommand) and packaging/completions from the clap definitions; a test fails
## when either is stale
man:
	$(CARGO) build -q -p cqube-emit
	$(CARGO_TARGET_DIR)/debug/cqube-emit man -o man
	$(CARGO_TARGET_DIR)/debug/cqube-emit completions bash > packaging/completions/cqube-emit.bash
	$(CARGO_TARGET_DIR)/debug/cqube-emit completions zsh > packaging/completions/_cqube-emit
	$(CARGO_TARGET_DIR)/debug/cqube-emit completions fish > packaging/completions/cqube-emit.fish

## deb: the Debian package (cargo-deb, installed if missing): binary, man pages, completions, systemd units, the
## example config; its postinst creates the cqube-emit service user. CI installs it with dpkg -i.
deb:
	command -v cargo-deb >/dev/null || $(CARGO) install cargo-deb --locked
	$(CARGO) deb -p cqube-emit

## setup: installs what tests and demo need (apt: unzip, p7zip, pigz; pip: requests, boto3, moto) and starts the databases
setup:
	scripts/setup.sh

## bench: criterion benches for the hot path, the end-to-end comparison with the peers in ../shared/bench,
## PostgreSQL -> emission beside psql | the shell peer and the file path, and the compression frontier (every level's
## size and CPU against pigz -p 2 -6 on the same bytes, scripts/frontier.sh)
bench: setup
	$(CARGO) bench -p cqube-benches
	scripts/bench.sh
	scripts/bench-db.sh
	scripts/frontier.sh

## fuzz: every cargo-fuzz target (fuzz/fuzz_targets) for FUZZ_SECONDS each (default 60), seeded from tests/fixtures.
## Stable toolchain: no sanitizer (`--sanitizer none`), libFuzzer's coverage and our assertions; a crash stops it and
## leaves its input in fuzz/artifacts/TARGET/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := sniff convert header value zip_check journal
FUZZ_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/fuzz
fuzz: fuzz-setup
	for t in $(FUZZ_TARGETS); do \
	  CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) $(CARGO) fuzz run --sanitizer none -O -a $$t fuzz/corpus/$$t \
	    -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 || exit 1; \
	done

## fuzz-smoke: the same, 15 s per target (for CI)
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=15

fuzz-setup:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	fuzz/seeds.py
