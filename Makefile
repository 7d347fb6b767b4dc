# The README's two commands: `make demo` (the main job) and `make test`.
.PHONY: demo test test-default test-39 bench bootstrap clean

bootstrap:
	./scripts/bootstrap.sh

test: bootstrap
	.venv/bin/python -m pytest -q tests
	@if [ -x .venv39/bin/python ]; then \
		echo "== Python 3.9 (RHEL 9's system Python; the e2e suite ran above) =="; \
		.venv39/bin/python -m pytest -q tests --ignore=tests/e2e; \
	else echo "Python 3.9 not available: skipped the 3.9 run"; fi

demo: bootstrap
	.venv/bin/python -m demo

bench: bootstrap
	.venv/bin/python bench/engine.py

clean:
	rm -rf .venv .venv39 build dist *.egg-info .pytest_cache .hypothesis
