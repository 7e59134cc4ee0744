# cqube-emit: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint build setup bench clean-demo

## run: end-to-end demo on the embedded store: serve, generate a cqube_emission folder, emit it, show the acknowledgements
run: setup
	$(CARGO) build --release -p cqube-emit
	scripts/demo.sh

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

## setup: installs what tests and demo need (apt: unzip, p7zip, pigz; pip: requests, boto3, moto) and starts the databases
setup:
	scripts/setup.sh

## bench: criterion benches for the hot path, the end-to-end comparison with the peers in ../shared/bench,
## and PostgreSQL -> emission beside psql | the shell peer and the file path
bench: setup
	$(CARGO) bench -p cqube-benches
	scripts/bench.sh
	scripts/bench-db.sh
