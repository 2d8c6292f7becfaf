# A local stack that stays up, without Docker: what `make e2e` starts (moto unless
# AWS_ENDPOINT_URL is set, the simulator, the five services as processes), kept running until
# Ctrl-C. It prints the environment to export for gfnctl.
.PHONY: stack
stack:
	@$(GO) run ./tools/e2e/cmd/stack

# The stack's binaries where the e2e and gfnctl tests build them (stack.SharedDir:
# .cache/stack), built by make test while the go tests compile; a test that needs them first
# waits on the build's lock and then finds them up to date.
.PHONY: stack-bin
stack-bin:
	@$(GO) run ./tools/e2e/cmd/stack -build-only -dir $(CURDIR)/.cache/stack
TEST_BUILDS += stack-bin
