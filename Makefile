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
