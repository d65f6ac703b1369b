# FER Studio quick start: `make app` (set up + run the Streamlit studio), `make test` (set up + run the tests),
# `make check` (the linter, then the fast tier: the tests not marked slow), `make lint` (ruff alone).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: app test check lint setup clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

app: $(STAMP)
	$(BIN)/streamlit run app/main.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: lint
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV)
