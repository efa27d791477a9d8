# leasedns: `make run` serves zones/ on 127.0.0.1:5300; `make test` runs everything CI runs.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEBS   := bind9-dnsutils knot-dnsutils dnsperf nsd knot bind9 kea-dhcp-ddns-server dnsmasq iproute2 isc-dhcp-client busybox strace
PURE   := leasedns/wire leasedns/store/records.py leasedns/store/schema.py leasedns/query leasedns/zone/serial.py leasedns/timers leasedns/server/dispatch.py leasedns/server/answer_cache.py leasedns/update leasedns/lease leasedns/xfr

.PHONY: run test lint typecheck unit deps debs bench clean

$(STAMP): setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

deps: $(STAMP)

# Debian packages the interop tests talk to; installed only when missing and we are root.
# policy-rc.d keeps the packaged daemons (named, nsd, knot, dnsmasq, kea) from starting:
# the tests start their own on loopback ports.
debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	    rc=$$?; rm -f /usr/sbin/policy-rc.d; [ $$rc = 0 ] || exit $$rc; \
	    for s in nsd knot named bind9 kea-dhcp-ddns-server dnsmasq; do systemctl stop $$s >/dev/null 2>&1 || true; done; \
	  else echo "missing Debian packages:$$missing (run make test as root, or install them)"; exit 1; fi; \
	fi

run: $(STAMP)
	$(PY) -m leasedns serve --config leasedns.yaml

lint: $(STAMP)
	$(VENV)/bin/ruff check leasedns tests benchmarks
	$(VENV)/bin/ruff format --check leasedns tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy $(PURE)

test: $(STAMP) debs lint typecheck
	$(VENV)/bin/pytest -p no:cacheprovider -n 4 --dist loadfile tests

bench: $(STAMP) debs
	$(PY) benchmarks/bench_query.py

clean:
	rm -rf $(VENV) var *.egg-info
