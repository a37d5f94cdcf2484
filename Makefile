# The same commands the README shows.
.PHONY: run test lint fmt ci

run:
	cargo run --release --bin bedrock-usage-mcp

test:
	scripts/test.sh

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

fmt:
	cargo fmt

ci:
	bash .ci/run

.PHONY: bench
bench:  # the side-by-side benchmark against the official SDKs (not part of the tests)
	bench/run.sh
