# Two commands: `make run` serves the site (gunicorn), `make test` runs the whole suite.
# `make dev` serves it with Flask's reloader instead.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run dev test provision setup lint bench bench-peers lighthouse clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Front-end packages come from npm, pinned by package-lock.json (`npm ci`). Only the
# built files the site serves (and axe-core for the browser tests) are copied into
# static/vendor/, which git ignores: nothing vendored is committed. us-atlas holds the
# state and county outlines the map draws when no tile server is configured.
VENDOR := static/vendor
$(VENDOR)/.stamp: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20) is needed: apt-get install nodejs npm" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/leaflet/images $(VENDOR)/leaflet.markercluster
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(VENDOR)/leaflet/
	cp node_modules/leaflet/dist/images/*.png $(VENDOR)/leaflet/images/
	cp node_modules/leaflet/LICENSE $(VENDOR)/leaflet/
	cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
	   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
	   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css \
	   node_modules/leaflet.markercluster/MIT-LICENCE.txt $(VENDOR)/leaflet.markercluster/
	mkdir -p $(VENDOR)/topojson-client $(VENDOR)/us-atlas
	cp node_modules/topojson-client/dist/topojson-client.min.js \
	   node_modules/topojson-client/LICENSE $(VENDOR)/topojson-client/
	cp node_modules/us-atlas/states-10m.json node_modules/us-atlas/counties-10m.json \
	   node_modules/us-atlas/LICENSE $(VENDOR)/us-atlas/
	cp node_modules/axe-core/axe.min.js $(VENDOR)/
	touch $@

# Plain http on this machine: the site's own address (mailed links start with it),
# cookies without Secure.
SITE_URL ?= http://$(HOST):$(PORT)
LOCAL_ENV := HOST=$(HOST) PORT=$(PORT) SITE_URL=$(SITE_URL) SECURE_COOKIES=0

setup: $(VENV)/.installed $(VENDOR)/.stamp
	$(LOCAL_ENV) $(BIN)/flask --app wsgi setup

# gunicorn, as in production (settings in gunicorn.conf.py). Its master makes the site
# ready before forking the workers (SETUP_ON_START: what `make setup` does, without a
# process of its own).
run: $(VENV)/.installed $(VENDOR)/.stamp
	@echo "Serving on http://$(HOST):$(PORT)/ with gunicorn (Ctrl-C to stop)"
	$(LOCAL_ENV) SETUP_ON_START=1 $(BIN)/gunicorn --config gunicorn.conf.py

# Flask's development server: reloads on code changes, debugger on errors.
dev: setup
	@echo "Development server on http://$(HOST):$(PORT)/ (reloads on changes; Ctrl-C to stop)"
	$(LOCAL_ENV) $(BIN)/flask --app wsgi run --debug --reload --host $(HOST) --port $(PORT)

# The suite's own services and packages first (.ci/provision: Chromium, PostgreSQL +
# PostGIS, Redis, Node.js; installed and started as root, or named when it cannot).
test: provision $(VENV)/.installed-test $(VENDOR)/.stamp
	$(BIN)/python -m pytest

provision:
	./.ci/provision

lint: $(VENV)/.installed-test
	$(BIN)/ruff check directory tests seed_data bench gunicorn.conf.py wsgi.py
	$(BIN)/ruff format --check directory tests seed_data bench gunicorn.conf.py wsgi.py

bench: $(VENV)/.installed-test
	$(BIN)/python bench/search.py

# Our search API beside Datasette on the same synthetic listings (bench/peers.py);
# datasette and sqlite-utils come from the `bench` extras, for this target only.
PEERS_ARGS ?= --size 1000 10000 100000
$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench-peers: $(VENV)/.installed-bench
	$(BIN)/python bench/peers.py $(PEERS_ARGS)

lighthouse: $(VENV)/.installed $(VENDOR)/.stamp
	$(BIN)/python bench/lighthouse.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis node_modules $(VENDOR)
