# Terraform checks; the top-level Makefile pulls this in with `include mk/*.mk`.
#   make terraform-test   AWS root: make package (every service), init from the local provider
#                         mirror, validate, and `terraform test` (a plan of the whole root)
#   make checkov          checkov over terraform/ (both roots): 0 failed checks
# Both are in `make test`. The Snowflake root (terraform/snowflake) needs a provider our
# machines cannot download; tools/deploytest checks it statically instead.

TERRAFORM ?= terraform
TF_CACHE := $(CURDIR)/.cache/terraform
TF_CLI_CONFIG := $(TF_CACHE)/cli.tfrc
# The directory holding registry.terraform.io/hashicorp/aws (a provider filesystem mirror),
# looked up only when terraform-test runs.
TF_PROVIDER_MIRROR ?= $(patsubst %/registry.terraform.io/hashicorp/aws,%,$(shell find / -maxdepth 5 -path '*registry.terraform.io/hashicorp/aws' -print -quit 2>/dev/null))
TF_ENV = TF_CLI_CONFIG_FILE=$(TF_CLI_CONFIG) TF_DATA_DIR=$(TF_CACHE)/aws TF_IN_AUTOMATION=1
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

TEST_EXTRA += checkov
# It needs the bootstraps make test builds for the go tests (mk/deploy.mk).
TEST_EXTRA_LATE += terraform-test

.PHONY: terraform-test terraform-cli-config checkov

# A missing terraform or mirror fails with its name: CI must not pass by skipping.
terraform-cli-config:
	@command -v $(TERRAFORM) > /dev/null || { echo "terraform-test: '$(TERRAFORM)' is not on the PATH (Terraform >= 1.6 is needed; our machines have 1.11.4)" >&2; exit 1; }
	@mirror='$(TF_PROVIDER_MIRROR)'; \
	if [ -z "$$mirror" ] || [ ! -d "$$mirror/registry.terraform.io/hashicorp/aws" ]; then \
	  echo "terraform-test: no AWS provider mirror: nothing matches */registry.terraform.io/hashicorp/aws within 5 levels of / (set TF_PROVIDER_MIRROR to the directory that holds registry.terraform.io)" >&2; exit 1; \
	fi; \
	mkdir -p "$(TF_CACHE)"; \
	printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' "$$mirror" > "$(TF_CLI_CONFIG)"; \
	echo "terraform-test: AWS provider from the mirror at $$mirror"

# The plan hashes the Lambda zips, so every service is packaged first (make test packages
# them before this starts, and says so with PACKAGED=1). The committed lock file must match the
# mirror's provider (-lockfile=readonly).
terraform-test: terraform-cli-config $(if $(PACKAGED),,packages)
	$(TF_ENV) $(TERRAFORM) -chdir=terraform init -input=false -backend=false -lockfile=readonly -no-color > $(TF_CACHE)/init.log 2>&1 || { cat $(TF_CACHE)/init.log; exit 1; }
	$(TF_ENV) $(TERRAFORM) -chdir=terraform validate -no-color
	$(TF_ENV) $(TERRAFORM) -chdir=terraform test -no-color

checkov: $(CHECKOV)
	$(CHECKOV) --directory terraform --framework terraform --quiet --compact --skip-download

$(CHECKOV): | $(UV)
	$(call python-venv,$(CHECKOV_VENV),checkov==3.3.30)
