# mpegserver: push in-memory frames to a live RTSP stream through GStreamer.
# `make help` lists the targets.

GO       ?= go
PKGS     := ./...
# The race detector needs cgo, which GStreamer needs anyway.
export CGO_ENABLED := 1

.PHONY: help deps build vet fmt-check test test-short fuzz soak av-soak demo snapshot bench deploy-check clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

deps: ## install the Debian packages (GStreamer, plugins, ffmpeg); idempotent, root or sudo
	@bash scripts/deps.sh

build: ## compile everything (first cgo build of go-gst takes about 3 minutes)
	$(GO) build $(PKGS)

vet: ## go vet
	$(GO) vet $(PKGS)

fmt-check: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The browser tests run on their own, after the others: ten Chromium tabs
# and the library's own tests at once overload two cores, and the streams
# under test must keep their frame rate.
BROWSER_PKG := ./webview
# Tests that call t.Parallel mostly wait on streams paced at the frame
# rate, not on the CPU: more of them than cores run side by side.
TEST_PARALLEL ?= 4

test: vet fmt-check ## vet, gofmt, then every test with the race detector (the browser tests last, alone)
	$(GO) test -race -count=1 -parallel $(TEST_PARALLEL) $$($(GO) list $(PKGS) | grep -v '/webview$$')
	$(GO) test -race -count=1 $(BROWSER_PKG)

test-short: ## the tests without the race detector, quicker while editing
	$(GO) test -count=1 $(PKGS)

FUZZTIME ?= 60s
# package:target
FUZZ_TARGETS := .:FuzzSetParameters .:FuzzParseRational .:FuzzParseAddress .:FuzzImageFrame \
	.:FuzzLaunchLine ./cmd/mpegserver:FuzzDumpFlags ./webview:FuzzWHEP

fuzz: ## run each fuzz target for FUZZTIME (default 60s); go test replays the corpora in testdata/fuzz
	@for pt in $(FUZZ_TARGETS); do \
		p=$${pt%%:*}; t=$${pt#*:}; echo "== $$p $$t"; \
		$(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) $$p || exit 1; \
	done

SOAK ?= 30m
SOAK_RESTART ?= 2m

soak: ## stream for SOAK (default 30m) with the relay restarted every SOAK_RESTART (2m); not in CI
	MPEGSERVER_SOAK=$(SOAK) MPEGSERVER_SOAK_RESTART=$(SOAK_RESTART) $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 0 .

AV_SOAK ?= 10m

av-soak: ## stream A/V markers for AV_SOAK (default 10m) over RTMP and RTSP to mediamtx: offset p50/max and drift; not in CI
	MPEGSERVER_AV_SOAK=$(AV_SOAK) $(GO) test -count=1 -run '^TestAVSoak$$' -v -timeout 0 .

demo: deps ## install what is missing, build, push a test pattern to an embedded RTSP server (Ctrl-C stops)
	$(GO) build -o bin/mpegserver ./cmd/mpegserver
	./bin/mpegserver push $(ARGS)

bench: deps ## measure against gst-launch-1.0 and ffmpeg (about 15 min); writes docs/benchmarks.md and its chart
	$(GO) run ./bench

snapshot: ## grab a frame of the test pattern from a real stream into docs/img/testpattern.png
	bash scripts/snapshot.sh docs/img/testpattern.png

deploy-check: ## check deploy/: the Kubernetes example against the API's Go types (a module of its own), the systemd unit with systemd-analyze, the Dockerfile's runtime libraries
	cd deploy/check && $(GO) test -count=1 ./...
	bash scripts/dockerfile-libs.sh
	@if command -v systemd-analyze >/dev/null; then \
		d=$$(mktemp -d) && sed 's|^ExecStart=/usr/local/bin/mpegserver|ExecStart=/bin/true|' deploy/mpegserver@.service > $$d/mpegserver@.service && \
		(cd $$d && systemd-analyze verify --man=no ./mpegserver@cam1.service) && rm -r $$d && echo "systemd unit: ok"; \
	else echo "no systemd-analyze: the unit is not checked"; fi

clean: ## remove build output
	rm -rf bin
