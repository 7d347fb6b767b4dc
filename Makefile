# The README's two commands: `make demo` (the main job) and `make test`.
.PHONY: demo test bench bootstrap clean rpm rpm-build srpm tarball docs accuracy

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

accuracy: bootstrap
	MG_DIFFERENTIAL=1 .venv/bin/python -m pytest -q tests/differential

demo: bootstrap
	.venv/bin/python -m demo

bench: bootstrap
	.venv/bin/python bench/engine.py

clean:
	rm -rf .venv .venv39 build dist *.egg-info .pytest_cache .hypothesis

# RPMs into dist/. On a builder without pyproject-rpm-macros (Debian's rpm), the stand-in
# macros of packaging/rpm-macros-non-rhel are loaded, the wheel is built with the venv's
# Python, and BuildRequires are not checked against the (empty) rpm database.
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' guard/__init__.py)
TARBALL := dist/migration-guard-$(VERSION).tar.gz
RPMBUILD = rpmbuild --define "_topdir $(CURDIR)/dist/rpmbuild" --define "_sourcedir $(CURDIR)/dist" \
	--define "_srcrpmdir $(CURDIR)/dist" --define "_rpmdir $(CURDIR)/dist" \
	--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm"
NON_RHEL = $(shell [ "$$(rpm --eval '%pyproject_wheel')" = '%pyproject_wheel' ] && \
	echo '--load packaging/rpm-macros-non-rhel --nodeps --define "__python3 $(CURDIR)/.venv/bin/python"')

tarball:
	mkdir -p dist
	git ls-files -z | tar --null -T - --transform 's,^,migration-guard-$(VERSION)/,' -czf $(TARBALL)

srpm: tarball
	$(RPMBUILD) $(NON_RHEL) -bs packaging/migration-guard.spec

rpm: bootstrap rpm-build

rpm-build: tarball
	$(RPMBUILD) $(NON_RHEL) -ba packaging/migration-guard.spec
	@ls -1 dist/*.rpm

docs:
	.venv/bin/python scripts/gen_docs.py
