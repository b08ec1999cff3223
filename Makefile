# The two commands of the README: `make book` and `make test`. Everything else is their set-up.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= cpu
STAMP := $(VENV)/.installed

.PHONY: book test setup data browser lab bench clean help

help:
	@echo "make book   set up, execute every notebook with PROFILE=$(PROFILE) (papermill), build the book"
	@echo "make test   set up, run the test suite, execute the smoke profile, nbval the notebooks, build and browse the book"

# Virtual environment + this project with all extras. torch/torchvision come from PyPI.
$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e ".[all]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# JupyterLab opens the book's .py chapters as notebooks (jupytext), paired with .ipynb
	@mkdir -p $(VENV)/share/jupyter/lab/settings && cp .jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)

setup: $(STAMP)

# Fashion-MNIST, the embedded real dataset: Debian's package where apt-get can install it,
# else torchvision's downloader; if neither works the data command says how to get it.
data: setup
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) || true; fi
	@$(PY) -m paper_repro data fashion-mnist

# Debian's headless Chromium, for the test that loads every page of the built book.
browser:
	@if ! command -v chromedriver >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1)) || true; fi

book: data
	$(PY) -m paper_repro reproduce --profile $(PROFILE)
	@if [ "$(PROFILE)" != smoke ]; then $(PY) -m paper_repro report --profile $(PROFILE) --readme README.md; fi

test: data browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check -q paper_repro tests
	$(PY) -m pytest -q --durations=15
	$(PY) -m paper_repro reproduce --profile smoke
	$(PY) -m pytest -q --nbval-lax -p no:cacheprovider book/*.ipynb
	$(PY) -m pytest -q -p no:cacheprovider tests/site --book-html _build/html

lab: data
	$(VENV)/bin/jupyter lab book/

bench: setup
	$(PY) -m paper_repro bench

clean:
	rm -rf _build runs figures/*.png figures/*.json book/*.ipynb
