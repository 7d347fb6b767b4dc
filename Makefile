# The README's two commands: `make demo` (the main job) and `make test`. `make check` is the
# fast inner loop: lint and the tests not marked slow, the import contracts among them
# (tests/test_import_contracts.py), with bootstrap's .venv (VENV=DIR for another), one pytest
# per CPU (scripts/check_tests.py), in under a minute; `make test` (CI) runs everything.
.PHONY: demo test check bench bootstrap clean rpm rpm-build srpm tarball docs accuracy

VENV ?= .venv

bootstrap:
	./scripts/bootstrap.sh

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q tests
	@if [ -x .venv39/bin/python ]; then \
		echo "== Python 3.9 (RHEL 9's system Python; the e2e suite ran above) =="; \
		.venv39/bin/python -m pytest -q tests --ignore=tests/e2e; \
	else echo "Python 3.9 not available: skipped the 3.9 run"; fi
	@if [ "$$(id -u)" = 0 ]; then \
		echo "== differential: real migrations between two differing libvirt hosts (docs/accuracy.md) =="; \
		MG_DIFFERENTIAL=1 MG_ACCURACY_DOC= .venv/bin/python -m pytest -q tests/differential; \
	else echo "not root: skipped the differential suite (it starts libvirt daemons in namespaces)"; fi

check:
	@[ -x $(VENV)/bin/python ] || { echo "no $(VENV)/bin/python: run make bootstrap (or make check VENV=DIR)" >&2; exit 2; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python scripts/check_tests.py

accuracy: bootstrap
	MG_DIFFERENTIAL=1 .venv/bin/python -m pytest -q tests/differential

demo:
	./scripts/bootstrap.sh --demo
	.venv/bin/python -m demo

bench: bootstrap
	.venv/bin/python bench/engine.py

clean:
	rm -rf .venv .venv39 .venv39-rhel build dist *.egg-info .pytest_cache .hypothesis

# RPMs into dist/. On a builder without pyproject-rpm-macros (Debian's rpm), the stand-in
# macros of packaging/rpm-macros-non-rhel are loaded, the wheel is built with the venv's
# Python, and BuildRequires are not checked against the (empty) rpm database.
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' guard/__init__.py)
TARBALL := dist/migration-guard-$(VERSION).tar.gz
RPMBUILD = rpmbuild --define "_topdir $(CURDIR)/dist/rpmbuild" --define "_sourcedir $(CURDIR)/dist" \
	--define "_srcrpmdir $(CURDIR)/dist" --define "_rpmdir $(CURDIR)/dist" \
	--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm"
# The builder's Python for the stand-in macros: .venv39 (RHEL 9's version, so the bytecode
# and %check match the target) when bootstrap made it, else .venv.
BUILD_PYTHON = $(shell [ -x .venv39/bin/python ] && echo $(CURDIR)/.venv39/bin/python || echo $(CURDIR)/.venv/bin/python)
NON_RHEL = $(shell [ "$$(rpm --eval '%pyproject_wheel')" = '%pyproject_wheel' ] && \
	echo '--load packaging/rpm-macros-non-rhel --nodeps --define "__python3 $(BUILD_PYTHON)"')
# The bundled structlog wheel (Source1): pinned with its hash in packaging/bundled.txt and
# fetched into dist/ with pip before rpmbuild, which then needs no network.
STRUCTLOG_VERSION := $(shell sed -n 's/^%global structlog_version //p' packaging/migration-guard.spec)
STRUCTLOG_WHEEL := dist/structlog-$(STRUCTLOG_VERSION)-py3-none-any.whl
PIP = $(shell [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3) -m pip

tarball:
	mkdir -p dist
	git ls-files -z | tar --null -T - --transform 's,^,migration-guard-$(VERSION)/,' -czf $(TARBALL)

$(STRUCTLOG_WHEEL): packaging/bundled.txt
	mkdir -p dist
	$(PIP) download --quiet --disable-pip-version-check --no-deps --only-binary :all: --require-hashes \
		-r packaging/bundled.txt -d dist
	@test -f $@ || { echo "packaging/bundled.txt and the spec's structlog_version disagree" >&2; exit 1; }

srpm: tarball $(STRUCTLOG_WHEEL)
	$(RPMBUILD) $(NON_RHEL) -bs packaging/migration-guard.spec

rpm:
	./scripts/bootstrap.sh --build
	$(MAKE) rpm-build

rpm-build: tarball $(STRUCTLOG_WHEEL)
	rm -rf dist/rpmbuild  # no wheel or file list left over from an earlier build
	$(RPMBUILD) $(NON_RHEL) -ba packaging/migration-guard.spec
	@ls -1 dist/*.rpm

docs:
	.venv/bin/python scripts/gen_docs.py
