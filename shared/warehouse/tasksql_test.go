package warehouse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Terraform's task runs the same MERGE the drivers run: the template must not drift.
func TestTerraformMergeTaskMatchesTheDriversMerge(t *testing.T) {
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "terraform", "sql", "merge_task.sql"))
	if err != nil {
		t.Fatal(err)
	}
	body := "EXECUTE IMMEDIATE $$\nBEGIN\n" + strings.Join(mergeTransaction(), ";\n") + ";\nEND;\n$$"
	want := strings.NewReplacer(RawStream, "${stream}", TransformedTable, "${target}", CountriesTable, "${dims}").Replace(body)
	if got := strings.TrimSpace(string(tmpl)); got != strings.TrimSpace(want) {
		t.Fatalf("terraform/sql/merge_task.sql differs from mergeTransaction():\n--- terraform\n%s\n--- driver\n%s", got, want)
	}
}
