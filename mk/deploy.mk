# Deployment targets; the top-level Makefile pulls this in with `include mk/*.mk`.
#   make up | down | logs [SERVICE=x]   local AWS mode with docker compose
#   make up-run [RUN_ARGS=...]          request a run from the stack, print its summary line
#   make package SERVICE=x              dist/x-lambda.zip for the provided.al2023 runtime
#   make packages                       every service's zip

# A service is a module under services/ (tools/deploytest checks them against contracts.Services).
DEPLOY_SERVICES := $(patsubst services/%/go.mod,%,$(wildcard services/*/go.mod))
GO ?= go
COMPOSE ?= docker compose
DIST ?= dist
# x86_64 Lambda by default (terraform's lambda_architecture); arm64 works for the CGO-free
# services, the loader then needs an aarch64 C cross compiler in CC.
LAMBDA_ARCH ?= amd64

# LocalStack needs an auth token; without one the free moto server stands in. The token is
# read as Compose reads it: from the environment, else from .env next to docker-compose.yml.
ENV_FILE ?= .env
LOCALSTACK_AUTH_TOKEN ?= $(shell sh mk/dotenv.sh LOCALSTACK_AUTH_TOKEN '$(ENV_FILE)')
EMULATOR_PROFILE := $(if $(strip $(LOCALSTACK_AUTH_TOKEN)),localstack,moto)
OTHER_PROFILE := $(if $(filter localstack,$(EMULATOR_PROFILE)),moto,localstack)
# down and logs name both profiles so they reach whichever emulator `up` started.
COMPOSE_ALL := $(COMPOSE) --profile localstack --profile moto
# Arguments for `gfnctl run` in up-run, e.g. RUN_ARGS="--years 2018-2022".
RUN_ARGS ?=

.PHONY: up up-run down logs package packages $(addprefix package-,$(DEPLOY_SERVICES))

# The other profile's emulator (named like its profile) would still hold port 4566: removed
# first, and --remove-orphans drops containers of services no longer in the file.
up:
	@echo "compose: emulator profile $(EMULATOR_PROFILE)"
	$(COMPOSE) --profile $(OTHER_PROFILE) rm --force --stop $(OTHER_PROFILE)
	$(COMPOSE) --profile $(EMULATOR_PROFILE) up -d --build --remove-orphans

# After `make up`: gfnctl (the bootstrap image) sends ExtractionRequested to the stack's
# extractor queue, waits for the outcome and prints the summary line.
up-run:
	$(COMPOSE) --profile $(EMULATOR_PROFILE) run --rm --no-deps bootstrap run --wait $(RUN_ARGS)

down:
	$(COMPOSE_ALL) down --remove-orphans

logs:
	$(COMPOSE_ALL) logs -f --tail=200 $(SERVICE)

# Builds ONLY $(SERVICE), from its own module with GOWORK=off, which proves it builds alone.
# CGO is on for the loader alone (DuckDB); every other bootstrap is a static binary.
# The bootstrap is built in one place per architecture (.cache/package/<arch>/<service>), so a
# second `make package` of unchanged code (terraform-test's, then the Lambda e2e tests') finds
# it up to date and go build links nothing; flock (when installed) keeps two makes from
# building or zipping the same bootstrap at once.
PACKAGE_BUILD := $(CURDIR)/.cache/package/$(LAMBDA_ARCH)
PACKAGE_LOCK = $(if $(shell command -v flock),flock "$(PACKAGE_BUILD)/$(SERVICE).lock")
package:
	@case " $(DEPLOY_SERVICES) " in \
	  *" $(SERVICE) "*) ;; \
	  *) echo "package: unknown SERVICE='$(SERVICE)'; want one of: $(DEPLOY_SERVICES)" >&2; exit 2 ;; \
	esac
	@rm -f "$(DIST)/$(SERVICE)-lambda.zip"
	@mkdir -p "$(DIST)" "$(PACKAGE_BUILD)/$(SERVICE)"
	cd services/$(SERVICE) && $(PACKAGE_LOCK) env GOWORK=off GOOS=linux GOARCH=$(LAMBDA_ARCH) \
	  CGO_ENABLED=$(if $(filter loader,$(SERVICE)),1,0) \
	  $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" \
	  -o "$(PACKAGE_BUILD)/$(SERVICE)/bootstrap" ./cmd/$(SERVICE)
	cd "$(PACKAGE_BUILD)/$(SERVICE)" && $(PACKAGE_LOCK) zip -q -X "$(abspath $(DIST))/$(SERVICE)-lambda.zip" bootstrap
	@echo "package: $(DIST)/$(SERVICE)-lambda.zip"

# One sub-make a service, so `make -j` (make test) builds them side by side.
packages: $(addprefix package-,$(DEPLOY_SERVICES))
$(addprefix package-,$(DEPLOY_SERVICES)): package-%:
	@$(MAKE) --no-print-directory package SERVICE=$*

# make test builds the bootstraps while the go tests compile, at the tests' priority: the
# Lambda e2e tests wait (on the lock) for a build in progress, never for terraform-test's
# niced one.
TEST_BUILDS += packages
