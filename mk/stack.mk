# A local stack that stays up, without Docker: what `make e2e` starts (moto unless
# AWS_ENDPOINT_URL is set, the simulator, the five services as processes), kept running until
# Ctrl-C. It prints the environment to export for gfnctl.
.PHONY: stack
stack:
	@$(GO) run ./tools/e2e/cmd/stack
