package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gfnpipeline/contracts"
)

// The Snowflake root cannot be initialised here (its provider is not served), so it is
// checked statically against the code and the AWS root.
func checkSnowflakeDirs(t *testing.T, root string) []string {
	t.Helper()
	sf, err := ParseTerraform(filepath.Join(root, "snowflake"))
	if err != nil {
		t.Fatal(err)
	}
	aws, err := ParseTerraform(root)
	if err != nil {
		t.Fatal(err)
	}
	merge, err := os.ReadFile(filepath.Join(root, "sql", "merge_task.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return CheckSnowflakeRoot(sf, aws, string(merge), append(slices.Clone(contracts.RowSchema), contracts.LoadSchema...))
}

func TestSnowflakeRootMatchesCode(t *testing.T) {
	for _, p := range checkSnowflakeDirs(t, terraformDir) {
		t.Error(p)
	}
}

func TestSnowflakeCheckerCatchesDrift(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"old provider source", "snowflake/versions.tf", `"snowflakedb/snowflake"`, `"Snowflake-Labs/snowflake"`, "snowflake provider source"},
		{"lower-case column", "snowflake/snowflake.tf", `{ name = "COUNTRY_NAME", type = "VARCHAR", nullable = false },`, `{ name = "country_name", type = "VARCHAR", nullable = false },`, `column "country_name" is not upper case`},
		{"nullable", "snowflake/snowflake.tf", `{ name = "SCORE", type = "VARCHAR", nullable = true },`, `{ name = "SCORE", type = "VARCHAR", nullable = false },`, "column SCORE: nullable false, contracts has true"},
		{"missing column", "snowflake/snowflake.tf", `    { name = "EXTRA", type = "VARCHAR", nullable = true },` + "\n", "", "warehouse columns"},
		{"change tracking", "snowflake/snowflake.tf", "change_tracking = true", "change_tracking = false", "change_tracking must be true"},
		{"external id", "snowflake/outputs.tf", "snowflake_storage_integration.lake.describe_output[0].storage_aws_external_id[0].value", "snowflake_storage_integration.lake.storage_aws_external_id", "describe_output"},
		{"merge column", "sql/merge_task.sql", "score = s.score,", "score = s.scores,", "names column scores"},
		{"quoted merge", "sql/merge_task.sql", "ON t.country_code = s.country_code", `ON t."country_code" = s.country_code`, "quotes an identifier"},
		{"metadata column", "snowflake/snowflake.tf", "load_id = METADATA$FILE_CONTENT_KEY", "load_key = METADATA$FILE_CONTENT_KEY", "INCLUDE_METADATA fills load_key"},
		{"topic name", "snowflake/snowflake.tf", `lake_events_topic     = "${var.name_prefix}gfn-lake-events"`, `lake_events_topic     = "gfn-lake-events"`, "local.lake_events_topic"},
		{"pipe via sqs", "snowflake/snowflake.tf", "  aws_sns_topic_arn = local.lake_events_topic_arn\n", "", "aws_sns_topic_arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyTree(t, terraformDir)
			p := filepath.Join(dir, filepath.FromSlash(tt.file))
			src, err := os.ReadFile(p)
			if err != nil || !strings.Contains(string(src), tt.old) {
				t.Fatalf("edit %q in %s: %v", tt.old, tt.file, err)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(src), tt.old, tt.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			if probs := checkSnowflakeDirs(t, dir); !containsProblem(probs, tt.want) {
				t.Errorf("want a problem mentioning %q, got %q", tt.want, probs)
			}
		})
	}
}
