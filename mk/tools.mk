# Pinned tools built or downloaded once per machine, not once per checkout: a clean clone (CI's)
# finds them in TOOLS_CACHE, keyed by version (and by Go toolchain for what Go builds), the way
# Go's module and build caches already persist. Each lands under its final name in one rename,
# so two checkouts installing at once cannot see half a tool. `make clean` leaves it; delete the
# directory to rebuild everything.
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/gfnpipeline

# uv installs every Python venv of the project from PyPI (pip took 30-40 s a venv, uv takes a
# few seconds from its own cache); it never downloads a Python of its own.
UV_VERSION := 0.13.9
UV := $(TOOLS_CACHE)/uv-$(UV_VERSION)
export UV_PYTHON_DOWNLOADS := never

$(UV):
	@mkdir -p $(TOOLS_CACHE) && tmp=$$(mktemp -d $(TOOLS_CACHE)/.uv.XXXXXX) && \
	{ $(PYTHON) -m venv $$tmp/venv && $$tmp/venv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) && \
	  mv $$tmp/venv/bin/uv $@; rc=$$?; rm -rf $$tmp; exit $$rc; }
	@echo "uv: $@"

# $(call python-venv,DIR,REQUIREMENTS): a fresh venv at DIR holding REQUIREMENTS (pip's syntax).
python-venv = rm -rf $(1) && $(UV) venv --quiet --python $(PYTHON) $(1) && $(UV) pip install --quiet --python $(1)/bin/python $(2)

# $(call go-tool,BINARY,PACKAGE@VERSION): go install into a scratch GOBIN, then one rename to
# BINARY (named with its version and GOTOOLCHAIN by the caller).
go-tool = mkdir -p $(dir $(1)) && tmp=$$(mktemp -d $(dir $(1)).go-tool.XXXXXX) && \
	{ GOBIN=$$tmp $(GO) install $(2) && mv $$tmp/$(notdir $(firstword $(subst @, ,$(2)))) $(1); rc=$$?; rm -rf $$tmp; exit $$rc; }
