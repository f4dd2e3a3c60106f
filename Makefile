# nadir: `make demo` serves the demo on http://localhost:8080, `make test` runs every test.
# Both install what is missing with apt first (Debian 12, as root), so a fresh machine needs nothing else.

PORT ?= 8080
DATA_DIR ?= var/demo
SAMPLES_DIR ?= var/samples
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
PY := /usr/bin/python3
JOBS ?= $(shell nproc)

# Build and test dependencies, all Debian 12 packages.
DEB_BUILD := build-essential cmake ninja-build pkg-config libmicrohttpd-dev libxml2-dev libjansson-dev \
	libgdal-dev libproj-dev libnetcdf-dev libsqlite3-dev libyaml-dev zlib1g-dev libcairo2-dev libpng-dev \
	libopenblas-dev liblapacke-dev libsuitesparse-dev libjwt-dev libssl-dev libcurl4-openssl-dev nodejs
DEB_TOOLS := gdal-bin proj-bin netcdf-bin curl ca-certificates
DEB_TEST := python3-pytest python3-requests python3-gdal python3-netcdf4 python3-xarray python3-owslib \
	python3-numpy python3-lxml python3-shapely python3-jsonschema python3-sklearn python3-jwt python3-cryptography python3-torch \
	slurm-wlm munge \
	libclang-rt-14-dev strace chromium python-cartopy-data
DEB_BENCH := nginx-light wrk mapserver-bin cgi-mapserver spawn-fcgi
DEB_ALL := $(DEB_BUILD) $(DEB_TOOLS) $(DEB_TEST) $(DEB_BENCH)

SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_odr_violation=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all deps build build-asan samples demo demo-data test test-unit test-integration test-asan test-fuzz test-security bench fuzz build-fuzz viewer test-web clean

all: build

# Installs only the packages that are missing; quick when everything is there.
deps:
	@missing=$$(for p in $(DEB_ALL); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# npm is its own package beside Debian's nodejs, and part of the nodejs of nodesource.
	@command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DND_SANITIZE=ON

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)
	$(MAKE) --no-print-directory viewer

# The web viewer (web/) bundled by Vite into $(BUILD)/share/viewer, where nadir finds it; npm ci runs only
# when node_modules is missing or older than the lock file.
VIEWER_SRC := $(wildcard web/index.html web/vite.config.js web/package-lock.json web/src/*)
viewer: $(BUILD)/share/viewer/index.html
$(BUILD)/share/viewer/index.html: web/node_modules/.package-lock.json $(VIEWER_SRC)
	cd web && NADIR_VIEWER_OUT=$(abspath $(BUILD))/share/viewer npm run --silent build
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) -j $(JOBS)

# libFuzzer targets (tests/fuzz): clang, with every library instrumented; clang's warnings differ from gcc's,
# so -Werror is left to the gcc builds.
$(FUZZ_BUILD)/build.ninja:
	CC=clang-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DND_FUZZ=ON -DND_WERROR=OFF -DND_CUDA=OFF \
	  -DCMAKE_C_FLAGS=-Wno-unknown-warning-option

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) -j $(JOBS) fuzzers

# Real sample data shipped in Debian packages (no R needed): Landsat 7 and NOAA OISST from r-cran-stars.
samples: $(SAMPLES_DIR)/.done $(SAMPLES_DIR)/.geopandas
$(SAMPLES_DIR)/.done:
	mkdir -p $(SAMPLES_DIR)/debs
	cd $(SAMPLES_DIR)/debs && (ls r-cran-stars_*.deb >/dev/null 2>&1 || apt-get download r-cran-stars || \
	  (apt-get update -qq && apt-get download r-cran-stars))
	dpkg -x $$(ls $(SAMPLES_DIR)/debs/r-cran-stars_*.deb | head -1) $(SAMPLES_DIR)/stars
	touch $@
# Natural Earth countries (the demo's vector base layer `countries`) from python3-geopandas' sample data: only
# the package's files are unpacked, nothing of it is installed.
$(SAMPLES_DIR)/.geopandas:
	mkdir -p $(SAMPLES_DIR)/debs
	cd $(SAMPLES_DIR)/debs && (ls python3-geopandas_*.deb >/dev/null 2>&1 || apt-get download python3-geopandas || \
	  (apt-get update -qq && apt-get download python3-geopandas))
	dpkg -x $$(ls $(SAMPLES_DIR)/debs/python3-geopandas_*.deb | head -1) $(SAMPLES_DIR)/geopandas
	touch $@

demo-data: build samples
	$(BUILD)/nadir demo-data --samples $(SAMPLES_DIR) $(DATA_DIR)

demo: demo-data
	@echo "serving http://localhost:$(PORT)/ (Ctrl-C stops)"
	PORT=$(PORT) DATA_DIR=$(abspath $(DATA_DIR)) $(BUILD)/nadir serve -c $(DATA_DIR)/nadir.yaml --port $(PORT)

test: build build-asan build-fuzz samples
	$(MAKE) --no-print-directory test-unit test-integration test-security test-web test-crash BIN_DIR=$(BUILD)
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz

test-unit:
	cd $(BIN_DIR) && ND_SAMPLES_DIR=$(abspath $(SAMPLES_DIR)) ctest --output-on-failure -j $(JOBS)

test-integration:
	NADIR_BIN=$(abspath $(BIN_DIR))/nadir ND_SAMPLES_DIR=$(abspath $(SAMPLES_DIR)) \
	  GDAL_DEFAULT_WMS_CACHE_PATH=$(abspath $(BIN_DIR))/gdalwmscache \
	  $(PY) -m pytest -q -p no:cacheprovider tests/integration

# The bad inputs of peers' advisories against a real server (tests/security).
test-security:
	NADIR_BIN=$(abspath $(BIN_DIR))/nadir ND_SAMPLES_DIR=$(abspath $(SAMPLES_DIR)) \
	  $(PY) -m pytest -q -p no:cacheprovider tests/security

# The viewer in Debian's Chromium (Playwright) against a real server; screenshots in $(BIN_DIR)/test-web.
test-web: viewer
	NADIR_BIN=$(abspath $(BIN_DIR))/nadir ND_SAMPLES_DIR=$(abspath $(SAMPLES_DIR)) \
	  NADIR_VIEWER_DIR=$(abspath $(BUILD))/share/viewer NADIR_WEB_OUT=$(abspath $(BIN_DIR))/test-web \
	  node --test tests/web/viewer.test.mjs

# SIGKILL at random moments of ingest, tile cache writes and job runs, then restarts (tests/crash): a few
# rounds per test here, NADIR_CRASH_ITERATIONS of them in test-crash-long.
.PHONY: test-crash test-crash-long soak
test-crash:
	NADIR_BIN=$(abspath $(BIN_DIR))/nadir ND_SAMPLES_DIR=$(abspath $(SAMPLES_DIR)) \
	  $(PY) -m pytest -q -p no:cacheprovider tests/crash

test-crash-long: build
	NADIR_CRASH_ITERATIONS=$${NADIR_CRASH_ITERATIONS:-60} $(MAKE) --no-print-directory test-crash BIN_DIR=$(BUILD)

# Mixed load at a fixed rate for SOAK_SECONDS (default 600): no 5xx, RSS and open files stable (tests/soak).
soak: build
	$(PY) tests/soak/soak.py $(BUILD)/nadir

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	$(SAN_ENV) $(MAKE) --no-print-directory test-unit test-integration test-security BIN_DIR=$(ASAN_BUILD)

# Each fuzz target for 60 s, two at a time, from the committed seeds (past crashes replayed first).
test-fuzz:
	tests/fuzz/run.sh $(FUZZ_BUILD) 60 2

# Each fuzz target for FUZZ_SECONDS (default 300), two at a time.
fuzz: build-fuzz
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) 2

bench: build samples
	tests/bench/run.sh $(BUILD)/nadir $(CASES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
