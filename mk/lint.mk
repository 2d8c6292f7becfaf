# golangci-lint v2 with the committed .golangci.yml (defaults + errorlint, bodyclose, noctx,
# gosec), run in every module of go.work; part of `make test`.
#   make lint
# The binary is built with the project's Go (a linter built with an older Go cannot load
# packages that need a newer one), once per machine (mk/tools.mk).
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS_CACHE)/golangci-lint-$(GOLANGCI_LINT_VERSION)-$(GOTOOLCHAIN)
LINT_MODULES = $(shell $(GO) work edit -json | $(PYTHON) -c 'import json,sys; print(" ".join(u["DiskPath"] for u in json.load(sys.stdin)["Use"]))')

TEST_EXTRA += lint

.PHONY: lint

$(GOLANGCI_LINT):
	@$(call go-tool,$@,github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION))

lint: $(GOLANGCI_LINT)
	@$(GOLANGCI_LINT) version --short | grep -qx '$(patsubst v%,%,$(GOLANGCI_LINT_VERSION))' || { echo "lint: $(GOLANGCI_LINT) is not $(GOLANGCI_LINT_VERSION): delete it and rerun" >&2; exit 1; }
	@failed=0; for m in $(LINT_MODULES); do \
	  echo "golangci-lint $$m"; \
	  (cd $$m && $(GOLANGCI_LINT) run --config $(CURDIR)/.golangci.yml ./...) || failed=1; \
	done; exit $$failed
