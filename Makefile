# Mapping the Space of Tasks: the commands a person types (see README.md).
#   make book   set up, execute every chapter at scale "book", build the HTML into _build/html
#   make test   lint, unit tests, every chapter at scale "fast", stale-output check, strict build
#   make lab    set up, then open the chapters in JupyterLab (book/run.md: how to run a chapter)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CUDA build of torch; it runs on the CPU too. On these machines pip takes it from local disk.
TORCH ?= torch==2.14.1 torchvision==0.29.1
SYSTEM_PACKAGES := dataset-fashion-mnist wordnet-base wordnet-sense-index
TEX_PACKAGES := texlive-xetex texlive-latex-recommended texlive-latex-extra \
  texlive-fonts-recommended latexmk fonts-freefont-otf
MATHJAX := book/_mathjax/mathjax
CHAPTERS := $(sort $(wildcard book/[0-9][0-9]_*.ipynb))
JB_FLAGS ?=
# A clone beside the project's shared/ folder finds the upstream mirror there (as CI does).
export TASKSPACE_DATA ?= $(abspath $(wildcard ../shared/data))

.PHONY: help setup system-data system-tex data book generated html pdf lab test lint unit stale bench student clean

help:
	@sed -n '2,4p' Makefile

setup: $(VENV)/.installed $(MATHJAX)/tex-chtml.js

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[book,dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# MathJax is served by the book itself, never from a CDN: one build (tex-chtml.js) and the
# components it loads on demand (fonts, TeX extensions, menu, accessibility). It lives outside
# book/_static because Jupyter Book adds every .js file under _static to every page.
$(MATHJAX)/tex-chtml.js:
	npm install --prefix $(VENV)/npm --no-save --no-audit --no-fund --loglevel=error mathjax@3
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)/output/chtml $(MATHJAX)/input/tex
	es5=$(VENV)/npm/node_modules/mathjax/es5; \
	cp $$es5/tex-chtml.js $(MATHJAX)/ && cp -r $$es5/a11y $$es5/sre $$es5/ui $(MATHJAX)/ && \
	cp -r $$es5/output/chtml/fonts $(MATHJAX)/output/chtml/ && \
	cp -r $$es5/input/tex/extensions $(MATHJAX)/input/tex/

# Debian packages: install those of $(1) that are missing (as root), or say how.
define apt_ensure
	@missing=""; \
	if command -v dpkg >/dev/null; then \
	  for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends$$missing; \
	  else echo "Debian packages missing:$$missing (needed for $(2))."; \
	       echo "  run: sudo apt-get install$$missing"; fi; \
	fi
endef

# Data that only a Debian package provides on machines without general internet access.
system-data:
	$(call apt_ensure,$(SYSTEM_PACKAGES),data that cannot be downloaded here)

# TeX Live for the PDF (XeLaTeX, latexmk, and the FreeSerif fonts that hold Greek and symbols).
system-tex:
	$(call apt_ensure,$(TEX_PACKAGES),the PDF)

# Find (or download) every data file the chapters read; fails with where it looked and what to do.
data: setup system-data
	$(BIN)/python -m taskspace.data

book: data
	$(BIN)/python -m taskspace.book run --scale book $(CHAPTERS)
	$(MAKE) pdf || echo "The PDF was not built (see above); the HTML book is built without it."
	$(MAKE) html

# The whole book as one PDF, solutions left out; the teachers' page links it.
pdf: setup system-tex generated
	$(BIN)/python -m taskspace.book pdf --output book/_generated/book.pdf

# What the pages include, written from the chapters, their results and _config.yml.
generated: setup
	mkdir -p book/_generated
	$(BIN)/python -m taskspace.book results-table book/results > book/_generated/results_table.md
	$(BIN)/python -m taskspace.book timings $(CHAPTERS) > book/_generated/timings_table.md
	$(BIN)/python -m taskspace.book toc _toc.yml --page-dir book > book/_generated/chapters_table.md
	$(BIN)/python -m taskspace.book install-cells _config.yml $(CHAPTERS)
	$(BIN)/python -m taskspace.book student --output-dir book/_generated/student \
	  --index book/_generated/student_index.md $(CHAPTERS) >/dev/null

html: setup generated
	$(BIN)/python -m taskspace.book pdf-note book/_generated/book.pdf > book/_generated/pdf_note.md
	$(BIN)/jupyter-book build . --path-output . $(JB_FLAGS)
	@echo "The book: _build/html/index.html"

lint: setup
	$(BIN)/ruff check src tests bench book
	$(BIN)/ruff format --check src tests bench

stale: setup
	$(BIN)/python -m taskspace.book check $(CHAPTERS)

unit: data
	$(BIN)/pytest

# The chapters in JupyterLab, in this project's environment (its kernel is the .venv's python3).
lab: data
	$(BIN)/jupyter lab book

# Pages whose browser console is checked (where Debian's chromium is installed): math, figures,
# tables.
BROWSER_PAGES := _build/html/book/intro.html _build/html/book/03_boxes.html \
  _build/html/book/06_baselines.html \
  _build/html/book/08_agreement_score.html

test: lint stale unit system-tex
	$(MAKE) html JB_FLAGS="-W -n --keep-going"
	$(BIN)/python -m taskspace.book scan _build/html
	$(BIN)/python -m taskspace.book pdf --output _build/pdf-check/chapter.pdf \
	  book/03_boxes.ipynb --expect-heading "Boxes as sets" --expect-figures 3
	@if command -v chromium >/dev/null; then \
	  $(BIN)/python -m taskspace.book browser $(BROWSER_PAGES); \
	else echo "chromium not installed: browser console check skipped (apt-get install chromium)"; fi

bench: setup
	@for script in bench/*.py; do $(BIN)/python $$script; done

student: setup
	$(BIN)/python -m taskspace.book student --output-dir _build/student $(CHAPTERS)

clean:
	rm -rf _build book/_generated
