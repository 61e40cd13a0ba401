# twofold — two commands set everything up on a fresh machine:
#   make run    install into .venv, migrate, seed the demo organisation, serve on 127.0.0.1
#               (and answer RADIUS on udp RADIUS_PORT, 1812 by default)
#   make test   install what the tests need (Chromium, CJK fonts, nginx included) and run the whole suite
#   make messages  compile the translation catalogues (twofold/locale/*/LC_MESSAGES/*.mo)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
RADIUS_PORT ?= 1812
TWOFOLD_DATA_DIR ?= $(CURDIR)/data
export TWOFOLD_DATA_DIR
# Installing stays quiet: pip's errors still show, its notices and build warnings do not.
PIP    := $(BIN)/python -m pip --quiet --quiet --disable-pip-version-check

.PHONY: run test test-packages lint format chromium fonts gettext messages clean outage-servers systemd-analyze prometheus nginx rsyslog ldap-headers slapd radclient

$(VENV)/.installed: pyproject.toml | ldap-headers
	@echo "Installing twofold into $(VENV) (a minute or two the first time)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip
	@$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	@echo "Installing the test dependencies into $(VENV)..."
	@$(PIP) install -e '.[test]'
	@touch $@

# The .mo files are built from the .po sources, never committed (.gitignore).
messages: $(VENV)/.installed gettext
	@cd twofold && ../$(BIN)/twofold manage compilemessages --verbosity 0

# The base URL is the OpenID Connect issuer and the passkeys' relying party: it follows HOST
# and PORT unless set, with 127.0.0.1 named localhost (browsers refuse an IP address as a
# passkey's relying party ID; twofold still listens on 127.0.0.1 only). The demo prints the
# credentials and where to go; its request log goes to $(TWOFOLD_DATA_DIR)/twofold.log.
BASE_HOST = $(if $(filter 127.0.0.1,$(HOST)),localhost,$(HOST))
run: $(VENV)/.installed messages
	@TWOFOLD_DEV_OUTBOX=1 TWOFOLD_BASE_URL=$${TWOFOLD_BASE_URL:-http://$(BASE_HOST):$(PORT)} \
	  $(BIN)/twofold demo --host $(HOST) --port $(PORT) --radius-port $(RADIUS_PORT)

chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

# Chinese glyphs for the browser tests' screenshots.
fonts:
	@test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc || (apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk)

# The outage tests (tests/test_outages.py) start, stop and freeze a PostgreSQL cluster and a
# Redis server of their own: Debian's initdb/pg_ctl and redis-server.
outage-servers:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends postgresql)
	@command -v redis-server >/dev/null || (apt-get update && apt-get install -y --no-install-recommends redis-server)

# systemd-analyze, which checks the units in deploy/systemd/ (tests/test_systemd_units.py);
# it needs no running systemd.
systemd-analyze:
	@command -v systemd-analyze >/dev/null || (apt-get update && apt-get install -y --no-install-recommends systemd)

# Debian packages whose system service must never start (tests run their own instance on a
# free loopback port): while the package installs, a policy-rc.d that refuses every start is
# in place (unless one already is), so no default configuration takes a port.
define install_without_service
{ own=; if [ ! -e /usr/sbin/policy-rc.d ]; then own=1; \
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi; \
  apt-get update && apt-get install -y --no-install-recommends $(1); status=$$?; \
  [ -z "$$own" ] || rm -f /usr/sbin/policy-rc.d; exit $$status; }
endef

# The metrics test (tests/test_prometheus.py) starts a Prometheus of its own.
prometheus:
	@command -v prometheus >/dev/null || $(call install_without_service,prometheus)

# Debian's nginx, which tests/test_tls_proxy.py runs in front of twofold with its own
# configuration (deploy/nginx/twofold.conf).
nginx:
	@test -x /usr/sbin/nginx || $(call install_without_service,nginx)

# rsyslog with its TLS driver, which the audit forwarding tests start on loopback with
# their own configuration (twofold/audit/tests/test_forwarding_syslog.py).
rsyslog:
	@dpkg -s rsyslog rsyslog-gnutls >/dev/null 2>&1 || $(call install_without_service,rsyslog rsyslog-gnutls)

# python-ldap (the directory client, docs/design.md) is built against Debian's libldap and
# libsasl2 headers when pip installs it.
ldap-headers:
	@dpkg -s libldap2-dev libsasl2-dev >/dev/null 2>&1 || $(call install_without_service,libldap2-dev libsasl2-dev)

# OpenLDAP's slapd and its tools (slapadd), which the directory tests start on loopback with
# their own cn=config in a temporary folder (twofold/directory/tests/slapd.py); never the
# system's service.
# slapd's package asks debconf questions: no terminal, its defaults.
slapd: export DEBIAN_FRONTEND = noninteractive
slapd:
	@test -x /usr/sbin/slapd -a -x /usr/sbin/slapadd -a -x /usr/bin/ldapsearch || \
	  $(call install_without_service,slapd ldap-utils)

# FreeRADIUS's radclient (freeradius-utils), the real RADIUS client the RADIUS front's tests
# send their packets with (twofold/radius/tests/); the tools only, never a FreeRADIUS server.
radclient:
	@test -x /usr/bin/radclient || $(call install_without_service,freeradius-utils)

# msgfmt, which compilemessages runs.
gettext:
	@command -v msgfmt >/dev/null || (echo "Installing gettext (msgfmt)..." && \
	  apt-get -qq update && apt-get -qq install -y --no-install-recommends gettext >/dev/null)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every Debian package the suite needs, each as a file that shows it is installed and its
# package (the single targets above install one each). The missing ones are installed in
# one apt-get run, their system services never started.
TEST_NEEDS = \
  '/usr/bin/chromium chromium' \
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc fonts-noto-cjk' \
  '/usr/lib/postgresql/*/bin/initdb postgresql' \
  '/usr/bin/redis-server redis-server' \
  '/usr/bin/systemd-analyze systemd' \
  '/usr/bin/prometheus prometheus' \
  '/usr/sbin/nginx nginx' \
  '/usr/sbin/rsyslogd rsyslog' \
  '/usr/lib/*/rsyslog/lmnsd_gtls.so rsyslog-gnutls' \
  '/usr/sbin/slapd slapd' \
  '/usr/bin/ldapsearch ldap-utils' \
  '/usr/bin/msgfmt gettext' \
  '/usr/bin/radclient freeradius-utils'

test-packages: export DEBIAN_FRONTEND = noninteractive
test-packages:
	@missing=; for need in $(TEST_NEEDS); do set -- $$need; \
	  ls $$1 >/dev/null 2>&1 || missing="$$missing $$2"; done; \
	if [ -n "$$missing" ]; then echo "Installing Debian packages the tests need:$$missing"; \
	  $(call install_without_service,$$missing); fi

test: $(VENV)/.installed-test test-packages messages lint
	./scripts/test.sh

clean:
	rm -rf $(VENV) .test-data artifacts

# Benchmarks (issue 9): twofold beside privacyIDEA 3.14 on this machine, 127.0.0.1 only.
# Installs what they need (Debian's wrk; privacyIDEA into .bench/); needs PostgreSQL at
# 127.0.0.1:5432 (user postgres) and Redis at 127.0.0.1:6379. Not part of `make test`.
.PHONY: bench bench-full bench-prepare bench-profile bench-directory wrk
wrk:
	@command -v wrk >/dev/null || (apt-get update && apt-get install -y --no-install-recommends wrk)

bench: $(VENV)/.installed wrk
	$(BIN)/python -m bench.harness

bench-full: $(VENV)/.installed wrk
	$(BIN)/python -m bench.harness --full

# Seed the benchmark databases and install privacyIDEA, measuring nothing (FULL=1: the
# sizes of bench-full), so that the measuring run can be made later on a quiet machine.
bench-prepare: $(VENV)/.installed wrk
	$(BIN)/python -m bench.harness --prepare $(if $(FULL),--full)

# py-spy on every twofold worker under code-only load (PASSWORD=1: password + code;
# SIGNIN=1: browser sign-ins); py-spy goes into .bench/tools.
bench-profile: $(VENV)/.installed wrk
	$(BIN)/python -m bench.profile $(if $(PASSWORD),--password) $(if $(SIGNIN),--signin) 20

# A directory sync of N people (100,000 unless N=...) against a slapd of its own, first and
# incremental, and a password check through the directory beside a local one.
bench-directory: $(VENV)/.installed slapd
	$(BIN)/python bench/directory_sync.py $(or $(N),100000)
