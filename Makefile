# The two set-up commands of README.md: `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test system-packages image-test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,board]'
	touch $(STAMP)

# The main job on a sample it makes: a 2048 x 2048 scene becomes a COG, a STAC Item and a
# quicklook in demo/out/ (run it again: the retry finds the output complete and skips).
demo: demo/sample.tif
	$(BIN)/batch-task ingest --source demo/sample.tif --destination demo/out/sample.tif
	@ls -l demo/out

# The Debian packages the tests need (rsyslog, chromium, tmux): installed as root, else named.
test: $(STAMP)
	bash .ci/packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

system-packages:
	bash .ci/packages

# Builds the container image with podman (as root, no registry needed) and runs it against
# local services: see docker/test-image.sh.
image-test: $(STAMP)
	bash docker/test-image.sh

demo/sample.tif: $(STAMP)
	$(BIN)/python benchmarks/scene.py $@ --size 2048

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) demo
