package deploytest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/gfnpipeline/contracts"
)

var terraformDir = filepath.Join(repoRoot, "terraform")

func TestTerraformIsCanonicallyFormatted(t *testing.T) {
	files, err := UnformattedTerraform(terraformDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Errorf("%s is not terraform-fmt canonical (run terraform fmt -recursive terraform)", f)
	}
}

func TestTerraformMatchesTopology(t *testing.T) {
	tf, err := ParseTerraform(terraformDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range CheckTerraform(tf, contracts.DefaultTopology(""), pipelineServices(t)) {
		t.Error(p)
	}
}

func TestTerraformModulePerService(t *testing.T) {
	for _, s := range pipelineServices(t) {
		dir := filepath.Join(terraformDir, "modules", s.Name)
		if _, err := ParseTerraform(dir); err != nil {
			t.Errorf("module %s: %v", s.Name, err)
		}
	}
	tf, err := ParseTerraform(filepath.Join(terraformDir, "modules", "lambda-service"))
	if err != nil {
		t.Fatal(err)
	}
	esm := tf.Block("resource", "aws_lambda_event_source_mapping", "this")
	if v, _ := literal(attr(esm, "function_response_types")); v.LengthInt() != 1 || v.Index(cty.NumberIntVal(0)).AsString() != "ReportBatchItemFailures" {
		t.Error(`event source mapping: want function_response_types = ["ReportBatchItemFailures"]`)
	}
	scaling := false
	if esm != nil {
		for _, b := range esm.Body.Blocks {
			scaling = scaling || b.Type == "scaling_config" && attr(b, "maximum_concurrency") != nil
		}
	}
	if !scaling {
		t.Error("event source mapping: want scaling_config { maximum_concurrency }")
	}
	if v, _ := literal(attr(tf.Block("resource", "aws_lambda_function", "this"), "runtime")); v.AsString() != "provided.al2023" {
		t.Error("lambda: want runtime provided.al2023")
	}
}

// The checker must catch drift: each edit breaks one rule in a copy of terraform/.
func TestTerraformCheckerCatchesDrift(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"renamed queue", "", `"gfn-validator"`, `"gfn-validator-v2"`, "queue gfn-validator (and its DLQ gfn-validator-dlq) not declared"},
		{"visibility", "main.tf", "visibility_timeout_seconds = 900", "visibility_timeout_seconds = 30", "gfn-extractor: visibility_timeout_seconds 30"},
		{"max receive", "main.tf", `"gfn-notifier"    = { visibility_timeout_seconds = 60, max_receive_count = 4`, `"gfn-notifier"    = { visibility_timeout_seconds = 60, max_receive_count = 9`, "gfn-notifier: max_receive_count 9"},
		{"filter", "main.tf", `event_types = ["BatchValidated"]`, `event_types = ["BatchLoaded"]`, "subscription of gfn-transformer: filter policy"},
		{"prefix", "main.tf", `prefix = "transformed/"`, `prefix = "parquet/"`, "bucket notification transformed/*.parquet -> gfn-loader is not delivered"},
		{"loader filtered", "main.tf", `"gfn-loader" = { topic = local.lake_events_topic, event_types = [] }`, `"gfn-loader" = { topic = local.lake_events_topic, event_types = ["BatchLoaded"] }`, "transformed/*.parquet -> gfn-loader is not delivered"},
		{"stray topic", "main.tf", `"gfn-notifications", local.lake_events_topic]`, `"gfn-notifications", local.lake_events_topic, "gfn-extra"]`, "topic gfn-extra in local.topics is not in the topology"},
		{"visibility 6x", "variables.tf", "timeout_seconds = 150", "timeout_seconds = 151", "gfn-extractor: visibility timeout 900s is under 6x the extractor Lambda's timeout 151s"},
		{"module visibility", "lambda.tf", `queue_visibility_timeout_seconds = local.queues["gfn-loader"].visibility_timeout_seconds`, `queue_visibility_timeout_seconds = 300`, "module.loader: queue_visibility_timeout_seconds"},
		{"secret to notifier", "lambda.tf", "  notifications_topic_arn          = aws_sns_topic.topic[\"gfn-notifications\"].arn\n", "  notifications_topic_arn          = aws_sns_topic.topic[\"gfn-notifications\"].arn\n  snowflake_secret_arn = aws_secretsmanager_secret.snowflake.arn\n", "module.notifier gets the Snowflake secret"},
		{"bucket", "variables.tf", `default     = "gfn-data-lake"`, `default     = "gfn-lake"`, "bucket_name must default to the topology's bucket gfn-data-lake"},
		{"dlq name", "sqs.tf", `"${var.name_prefix}${each.key}${local.dlq_suffix}"`, `"${each.key}${local.dlq_suffix}"`, "aws_sqs_queue.dlq"},
		{"not raw", "sns.tf", "raw_message_delivery = true", "raw_message_delivery = false", "raw_message_delivery"},
		{"service list", "lambda.tf", `"loader", "notifier"]`, `"loader"]`, "local.services [extractor validator transformer loader]"},
		{"scheduler type", "eventbridge.tf", `"gfn.pipeline.extraction_requested.v1"`, `"gfn.pipeline.extraction_requested.v2"`, "scheduled message attribute type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyTree(t, terraformDir)
			edited := false
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tf") || tt.file != "" && filepath.Base(p) != tt.file || filepath.Dir(p) != dir {
					return err
				}
				src, err := os.ReadFile(p)
				if err != nil || !strings.Contains(string(src), tt.old) {
					return err
				}
				edited = true
				return os.WriteFile(p, []byte(strings.ReplaceAll(string(src), tt.old, tt.new)), 0o644)
			})
			if err != nil || !edited {
				t.Fatalf("edit %q in %s: %v (found: %v)", tt.old, tt.file, err, edited)
			}
			tf, err := ParseTerraform(dir)
			if err != nil {
				t.Fatal(err)
			}
			probs := CheckTerraform(tf, contracts.DefaultTopology(""), pipelineServices(t))
			if !containsProblem(probs, tt.want) {
				t.Errorf("want a problem mentioning %q, got %q", tt.want, probs)
			}
		})
	}
}

func TestTerraformFormatCheckCatchesDrift(t *testing.T) {
	dir := copyTree(t, terraformDir)
	p := filepath.Join(dir, "sns.tf")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(src), "protocol             =", "protocol =", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := UnformattedTerraform(dir)
	if err != nil || len(files) != 1 || filepath.Base(files[0]) != "sns.tf" {
		t.Errorf("unformatted = %v, %v; want [sns.tf]", files, err)
	}
}

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
