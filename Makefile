# Accord: `make run` serves the demo network, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: run test install browser migrate demo serve lint format clean

run: install migrate demo serve ## Set up, load the demo network and serve it

test: install browser ## Set up everything the tests need and run them all
	$(BIN)/ruff check accord tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

migrate: install
	$(BIN)/accord migrate --no-input -v 0

demo: install
	$(BIN)/accord demo

serve: install
	$(BIN)/accord serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check accord tests bench
	$(BIN)/ruff format --check accord tests bench

format: install
	$(BIN)/ruff check --fix accord tests bench
	$(BIN)/ruff format accord tests bench

clean:
	rm -rf $(VENV) var/static .pytest_cache .ruff_cache
