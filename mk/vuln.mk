# govulncheck over every module of go.work, against a vulnerability database built offline
# from the golang.org/x/vulndb module (the proxy serves it; vuln.go.dev is not reachable).
#   make vuln        (part of `make test`)
# The database and the govulncheck binary are built once per machine and version (mk/tools.mk);
# gendb needs the copy to be a git repository.
# -scan package: every vulnerability in a package our code imports fails the check, reachable
# or not. That is stricter than the default symbol scan (a superset of its findings) and takes
# a second where the symbol scan's call graph took a minute of CPU.

VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK_VERSION := v1.9.0
VULN_CACHE := $(TOOLS_CACHE)/vuln
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
	mkdir -p .cache; log=$(CURDIR)/.cache/govulncheck.log; \
	echo "govulncheck: $$(echo $$mods | wc -w) modules"; \
	rc=0; (cd "$$first" && $(abspath $(GOVULNCHECK)) -scan package -db file://$(abspath $(VULNDB)) $$pats) > $$log 2>&1 || rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 3 ]; then cat $$log; echo "govulncheck failed (exit $$rc)" >&2; exit 1; fi; \
	found=$$(sed -n 's/^Vulnerability #[0-9]*: \(GO-[0-9]*-[0-9]*\).*/\1/p' $$log | sort -u); \
	allowed=$$(grep -o '^GO-[0-9]*-[0-9]*' $(VULN_EXCLUSIONS) | sort -u); \
	new=$$(comm -23 <(echo "$$found") <(echo "$$allowed") | grep . || true); \
	stale=$$(comm -13 <(echo "$$found") <(echo "$$allowed") | grep . || true); \
	for id in $$stale; do echo "govulncheck: $$id is excluded in $(VULN_EXCLUSIONS) but no longer found; remove it"; done; \
	for id in $$found; do grep -q "^$$id " $(VULN_EXCLUSIONS) && echo "govulncheck: $$id excluded: $$(grep "^$$id " $(VULN_EXCLUSIONS) | cut -d' ' -f2- | cut -c1-100)..."; done; \
	if [ -n "$$new" ]; then cat $$log; echo "govulncheck: vulnerabilities in imported packages: $$new (fix, or exclude with a reason in $(VULN_EXCLUSIONS))" >&2; exit 1; fi; \
	echo "govulncheck: clean ($$(echo $$found | wc -w) excluded)"

# gendb reads the reports from a git repository: the module's files, committed once.
$(VULNDB)/index/db.json:
	@mkdir -p $(VULN_CACHE) && tmp=$$(mktemp -d $(VULN_CACHE)/.db.XXXXXX) && { \
	  src=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	  test -n "$$src" || { echo "vulndb: download failed" >&2; false; } && \
	  cp -r "$$src" $$tmp/repo && chmod -R u+w $$tmp/repo && \
	  (cd $$tmp/repo && git init -q && git add -A && \
	    git -c user.name=gfn -c user.email=gfn@localhost commit -q -m "golang.org/x/vulndb@$(VULNDB_VERSION)" && \
	    GOWORK=off $(GO) run ./cmd/gendb -repo . -out ../db) && \
	  { mv -T $$tmp/db $(VULNDB) 2>/dev/null || test -f $@; }; rc=$$?; rm -rf $$tmp; exit $$rc; }
	@echo "vulndb: built $(VULNDB)"

$(GOVULNCHECK):
	@$(call go-tool,$@,golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION))
