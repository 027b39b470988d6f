# The two commands of the README:  make demo   and   make test
# Both set up (or reuse) the local virtual environment .venv first.
PY := .venv/bin/python

.PHONY: demo test setup setup-browser sample lock bench clean

setup:
	@bash scripts/setup.sh

setup-browser:
	@bash scripts/setup.sh --browser

sample: setup
	@$(PY) -m emolab.samples

demo: sample
	@bash scripts/demo.sh

test: setup-browser
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lock:
	@rm -rf /tmp/emolab-lock && python3 -m venv /tmp/emolab-lock && \
	/tmp/emolab-lock/bin/pip install -q torch==2.13.0 -r requirements/base.in -r requirements/notebooks.in -r requirements/test.in && \
	{ echo "# Exact versions tested together (pip freeze of a clean install, Python 3.11, Linux x86-64)."; \
	  echo "# Regenerate with 'make lock' after changing requirements/*.in."; \
	  /tmp/emolab-lock/bin/pip freeze | sed 's/^torch==2.13.0+cpu/torch==2.13.0/'; } > requirements/constraints.txt

clean:
	rm -rf .venv data/generated data/cache .pytest_cache
