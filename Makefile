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

.PHONY: bench-lambda bench-file-source bench-cross-instance
bench-lambda:  # cold start and warm cost per memory size of the release binaries (bench/lambda/)
	cargo build --release -p mcp-conformance --bin conformance-server
	cargo build --release --bin bedrock-usage-mcp
	cargo run --release --example lambda -- cold-start --runs 30
	cargo run --release --example lambda -- memory --runs 30

bench-file-source:  # the file source's throughput and peak RSS (bench/file_source.rs)
	cargo run --release --example file_source

bench-cross-instance:  # the latency of a hop between instances on moto (bench/cross_instance_latency.rs)
	cargo run --release --example cross_instance_latency -- 100 30
