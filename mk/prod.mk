# The production Soda job's Python (soda/lambda): soda-core-snowflake and boto3 in a venv of
# their own (Soda's DuckDB venv pins other versions). tools/e2e/sodalambda runs the job
# against fakesnow's server with it.
SODA_SNOWFLAKE_VENV := .venv-soda-snowflake

.PHONY: venv-soda-snowflake
venv-soda-snowflake: $(SODA_SNOWFLAKE_VENV)/bin/soda
$(SODA_SNOWFLAKE_VENV)/bin/soda: soda/lambda/requirements.txt | $(UV)
	$(call python-venv,$(SODA_SNOWFLAKE_VENV),-r soda/lambda/requirements.txt)
	touch $@

TEST_GO_NEEDS += venv-soda-snowflake
