# The Lambda runtime on this machine: AWS's Lambda Runtime Interface Emulator, under which
# `RUNTIME=lambda make e2e` and tools/e2e's Lambda tests run every service's bootstrap.
#   make lambda-rie     installs it (once per machine and version, mk/tools.mk) and prints its path

RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE := $(TOOLS_CACHE)/aws-lambda-rie-$(RIE_VERSION)-$(GOTOOLCHAIN)
GO ?= go

.PHONY: lambda-rie
lambda-rie: $(RIE)
	@echo $(abspath $(RIE))

$(RIE):
	@$(call go-tool,$@,github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION))

TEST_GO_NEEDS += lambda-rie
