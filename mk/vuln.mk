# govulncheck over every module of go.work, against a vulnerability database built offline
# from the golang.org/x/vulndb module (the proxy serves it; vuln.go.dev is not reachable).
#   make vuln        (part of `make test`)
# The database and the govulncheck binary are cached under .cache/vuln, keyed by version, so
# only the first run builds them (gendb needs the copy to be a git repository).

VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK_VERSION := v1.9.0
VULN_CACHE := .cache/vuln
VULNDB := $(VULN_CACHE)/db-$(VULNDB_VERSION)
# Built with the same Go as the code it checks (GOTOOLCHAIN, exported by the Makefile).
GOVULNCHECK := $(VULN_CACHE)/govulncheck-$(GOVULNCHECK_VERSION)-$(GOTOOLCHAIN)
VULN_EXCLUSIONS := mk/govulncheck-exclusions.txt

TEST_EXTRA += vuln
.PHONY: vuln

vuln: $(VULNDB)/index/db.json $(GOVULNCHECK)
	@mods=$$($(GO) list -m -f '{{.Dir}}'); \
	first=$$(echo "$$mods" | head -1); \
	pats=$$(for d in $$mods; do realpath --relative-to="$$first" "$$d"; done | sed 's|^\.$$|.|; s|$$|/...|; s|^\([^./]\)|./\1|'); \
	log=$(VULN_CACHE)/govulncheck.log; \
	echo "govulncheck: $$(echo $$mods | wc -w) modules"; \
	rc=0; (cd "$$first" && $(abspath $(GOVULNCHECK)) -db file://$(abspath $(VULNDB)) $$pats) > $$log 2>&1 || rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 3 ]; then cat $$log; echo "govulncheck failed (exit $$rc)" >&2; exit 1; fi; \
	found=$$(sed -n 's/^Vulnerability #[0-9]*: \(GO-[0-9]*-[0-9]*\).*/\1/p' $$log | sort -u); \
	allowed=$$(grep -o '^GO-[0-9]*-[0-9]*' $(VULN_EXCLUSIONS) | sort -u); \
	new=$$(comm -23 <(echo "$$found") <(echo "$$allowed") | grep . || true); \
	stale=$$(comm -13 <(echo "$$found") <(echo "$$allowed") | grep . || true); \
	for id in $$stale; do echo "govulncheck: $$id is excluded in $(VULN_EXCLUSIONS) but no longer found; remove it"; done; \
	for id in $$found; do grep -q "^$$id " $(VULN_EXCLUSIONS) && echo "govulncheck: $$id excluded: $$(grep "^$$id " $(VULN_EXCLUSIONS) | cut -d' ' -f2- | cut -c1-100)..."; done; \
	if [ -n "$$new" ]; then cat $$log; echo "govulncheck: reachable vulnerabilities: $$new (fix, or exclude with a reason in $(VULN_EXCLUSIONS))" >&2; exit 1; fi; \
	echo "govulncheck: clean ($$(echo $$found | wc -w) excluded)"

# gendb reads the reports from a git repository: the module's files, committed once.
$(VULNDB)/index/db.json:
	@rm -rf $(VULNDB).tmp && mkdir -p $(VULNDB).tmp
	@src=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$src" || { echo "vulndb: download failed" >&2; exit 1; }; \
	cp -r "$$src" $(VULNDB).tmp/repo && chmod -R u+w $(VULNDB).tmp/repo
	cd $(VULNDB).tmp/repo && git init -q && git add -A && \
	  git -c user.name=gfn -c user.email=gfn@localhost commit -q -m "golang.org/x/vulndb@$(VULNDB_VERSION)" && \
	  GOWORK=off $(GO) run ./cmd/gendb -repo . -out ../db
	@rm -rf $(VULNDB) && mv $(VULNDB).tmp/db $(VULNDB) && rm -rf $(VULNDB).tmp
	@echo "vulndb: built $(VULNDB)"

$(GOVULNCHECK):
	@mkdir -p $(VULN_CACHE)/bin
	GOBIN=$(abspath $(VULN_CACHE))/bin $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@mv $(VULN_CACHE)/bin/govulncheck $@
