package lambdaesm_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gfnpipeline/tools/e2e/lambdaesm"
)

func TestReadTerraformResolvesModulesLocalsAndDefaults(t *testing.T) {
	got, err := lambdaesm.ReadTerraform(filepath.Join("testdata", "split"))
	if err != nil {
		t.Fatal(err)
	}
	want := []lambdaesm.Mapping{
		{Function: "t-fn-alpha", Queue: "t-q-alpha", BatchSize: 7, BatchingWindow: 3 * time.Second, MaximumConcurrency: 4, ReportBatchItemFailures: true, Timeout: 40 * time.Second, MemoryMB: 128},
		{Function: "t-fn-beta", Queue: "t-q-beta", BatchSize: 1, MaximumConcurrency: 2, Timeout: 9 * time.Second, MemoryMB: 128},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestReadTerraformNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	tf := `resource "aws_lambda_function" "f" {
  function_name = "f"
  timeout       = 3
}
resource "aws_lambda_event_source_mapping" "m" {
  event_source_arn = "arn:aws:sqs:us-east-1:1:q"
  function_name    = aws_lambda_function.f.arn
  batch_size       = var.batch
  maximum_batching_window_in_seconds = 0
  scaling_config {
    maximum_concurrency = 2
  }
}
variable "batch" { type = number }
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := lambdaesm.ReadTerraform(dir)
	if err == nil || !strings.Contains(err.Error(), `variable "batch" has no default`) {
		t.Fatalf("error %v, want one naming the variable without a default", err)
	}
}

// The repository's terraform: every mapping reads, with usable settings.
func TestReadTheRepositorysTerraform(t *testing.T) {
	ms, err := lambdaesm.ReadTerraform(filepath.Join("..", "..", "..", "terraform"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no event source mappings")
	}
	for _, m := range ms {
		if m.Queue == "" || m.Function == "" || m.BatchSize < 1 || m.MaximumConcurrency < 1 || m.Timeout <= 0 || !m.ReportBatchItemFailures {
			t.Errorf("mapping %+v", m)
		}
	}
}
