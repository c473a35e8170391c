# Phaseboard build. The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/phaseboard
VENDOR := static/vendor/htmx.min.js static/vendor/sse.min.js static/vendor/Sortable.min.js

.PHONY: run build test generate check-generated vendor browser xmllint db-up bench clean screenshots

run: build
	./$(BIN) serve

build: vendor
	$(GO) build -o $(BIN) .

# Front-end packages come from npm (pinned in package-lock.json) and are copied into
# static/vendor, which is git-ignored and embedded into the binary at build time.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

vendor: $(VENDOR)

static/vendor/htmx.min.js: node_modules/.package-lock.json
	@mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

# htmx's SSE extension: the live pages' streams (handlers/live.go).
static/vendor/sse.min.js: node_modules/.package-lock.json
	@mkdir -p static/vendor
	cp node_modules/htmx-ext-sse/dist/sse.min.js $@

static/vendor/Sortable.min.js: node_modules/.package-lock.json
	@mkdir -p static/vendor
	cp node_modules/sortablejs/Sortable.min.js $@

generate:
	$(GO) tool templ generate

# CI fails when committed templ output is stale.
check-generated:
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || (echo "templ output is stale: run make generate and commit" && exit 1)

# Debian's Chromium for the playwright-go browser tests (no browser downloads here).
browser:
	@if [ -z "$$PHASEBOARD_CHROMIUM" ] && ! command -v chromium >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) || { echo "could not install chromium: install it, or set PHASEBOARD_CHROMIUM to a Chromium executable"; exit 1; }; \
	fi

# Debian's xmllint (libxml2-utils) validates $metadata against the OASIS CSDL XML schemas in
# the tests (Go has no XML Schema validator that handles edm.xsd).
xmllint:
	@if ! command -v xmllint >/dev/null; then \
	  echo "installing Debian's libxml2-utils (xmllint) for the CSDL schema test"; \
	  (apt-get update -qq && apt-get install -y -qq libxml2-utils) || { echo "could not install xmllint: install libxml2-utils"; exit 1; }; \
	fi

# PostgreSQL for the tests: PHASEBOARD_TEST_DATABASE_URL, default the local server.
db-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || { echo "PostgreSQL is not running on 127.0.0.1:5432; start it or set PHASEBOARD_TEST_DATABASE_URL"; exit 1; }

test: vendor browser xmllint db-up
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

bench: vendor db-up
	$(GO) test -run '^$$' -bench . -benchtime 3s ./...

# The README's screenshots (board, card panel, forecast at desktop and phone size), from a demo.
screenshots: vendor browser
	PHASEBOARD_SCREENSHOTS=$(CURDIR)/static/docs/screenshots $(GO) test -count=1 -run '^TestScreenshots$$' ./handlers/

clean:
	rm -rf bin static/vendor node_modules
