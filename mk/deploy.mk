# Deployment targets; the top-level Makefile pulls this in with `include mk/*.mk`.
#   make up | down | logs [SERVICE=x]   local AWS mode with docker compose
#   make package SERVICE=x              dist/x-lambda.zip for the provided.al2023 runtime

DEPLOY_SERVICES := extractor validator transformer loader notifier
GO ?= go
COMPOSE ?= docker compose
DIST ?= dist
# x86_64 Lambda by default (terraform's lambda_architecture); arm64 works for the CGO-free
# services, the loader then needs an aarch64 C cross compiler in CC.
LAMBDA_ARCH ?= amd64

# LocalStack needs an auth token; without one the free moto server stands in.
EMULATOR_PROFILE := $(if $(strip $(LOCALSTACK_AUTH_TOKEN)),localstack,moto)
# down and logs name both profiles so they reach whichever emulator `up` started.
COMPOSE_ALL := $(COMPOSE) --profile localstack --profile moto

.PHONY: up down logs package

up:
	@echo "compose: emulator profile $(EMULATOR_PROFILE)"
	$(COMPOSE) --profile $(EMULATOR_PROFILE) up -d --build

down:
	$(COMPOSE_ALL) down --remove-orphans

logs:
	$(COMPOSE_ALL) logs -f --tail=200 $(SERVICE)

# Builds ONLY $(SERVICE), from its own module with GOWORK=off, which proves it builds alone.
# CGO is on for the loader alone (DuckDB); every other bootstrap is a static binary.
package:
	@case " $(DEPLOY_SERVICES) " in \
	  *" $(SERVICE) "*) ;; \
	  *) echo "package: unknown SERVICE='$(SERVICE)'; want one of: $(DEPLOY_SERVICES)" >&2; exit 2 ;; \
	esac
	@rm -rf "$(DIST)/$(SERVICE)-lambda" "$(DIST)/$(SERVICE)-lambda.zip"
	@mkdir -p "$(DIST)/$(SERVICE)-lambda"
	cd services/$(SERVICE) && GOWORK=off GOOS=linux GOARCH=$(LAMBDA_ARCH) \
	  CGO_ENABLED=$(if $(filter loader,$(SERVICE)),1,0) \
	  $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" \
	  -o "$(abspath $(DIST))/$(SERVICE)-lambda/bootstrap" ./cmd/$(SERVICE)
	cd "$(DIST)/$(SERVICE)-lambda" && zip -q -X "../$(SERVICE)-lambda.zip" bootstrap
	@rm -rf "$(DIST)/$(SERVICE)-lambda"
	@echo "package: $(DIST)/$(SERVICE)-lambda.zip"
