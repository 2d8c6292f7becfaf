package deploytest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/gfnpipeline/contracts"
)

// SnowflakeProviderSource is where the Snowflake provider publishes 2.x.
const SnowflakeProviderSource = "snowflakedb/snowflake"

var (
	// s.col and t.col in the MERGE, the only way it names columns besides its lists.
	qualifiedColumn = regexp.MustCompile(`\b[st]\.([A-Za-z_][A-Za-z0-9_]*)`)
	// INSERT (a, b, ...) column lists.
	insertList      = regexp.MustCompile(`INSERT \(([^)]*)\)`)
	includeMetadata = regexp.MustCompile(`INCLUDE_METADATA = \(([^)]*)\)`)
)

// CheckSnowflakeRoot checks the Snowflake root module (terraform/snowflake), which cannot be
// initialised here (its provider is not served), against the code and the AWS root:
//   - the provider source is snowflakedb/snowflake;
//   - the tables' columns are the warehouse columns (contracts.RowSchema + LoadSchema, whose
//     lineage columns the pipe's INCLUDE_METADATA fills), nullable as they are, in upper case:
//     the provider quotes names, and the MERGE task, the pipe and the drivers use unquoted
//     names, which Snowflake folds to upper case;
//   - every column the MERGE (mergeSQL) and the pipe's INCLUDE_METADATA name exists;
//   - RAW has change_tracking = true (its stream turns it on; false would drift every plan);
//   - the external id is read from describe_output (the top-level attribute is null);
//   - the pipe auto-ingests through the AWS root's gfn-lake-events topic, and the role and
//     topic names it derives are the AWS root's.
func CheckSnowflakeRoot(sf, aws *Terraform, mergeSQL string, warehouse []contracts.Column) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }

	source := ""
	for _, b := range sf.Blocks {
		if b.Type != "terraform" {
			continue
		}
		for _, rp := range b.Body.Blocks {
			if rp.Type != "required_providers" {
				continue
			}
			if a, ok := rp.Body.Attributes["snowflake"]; ok {
				if v, _ := literal(a.Expr); v != cty.NilVal && v.Type().IsObjectType() && v.Type().HasAttribute("source") {
					source = v.GetAttr("source").AsString()
				}
			}
		}
	}
	if source != SnowflakeProviderSource {
		bad("snowflake provider source %q, want %q (2.x is published there)", source, SnowflakeProviderSource)
	}

	want := contracts.ColumnNames(warehouse)
	var columns []string
	if v, ok := sf.Locals["warehouse_columns"]; !ok {
		bad("local.warehouse_columns is missing or not a static value")
	} else {
		for i, c := range v.AsValueSlice() {
			name := c.GetAttr("name").AsString()
			if name != strings.ToUpper(name) {
				bad("column %q is not upper case: the provider quotes it, unquoted SQL would not find it", name)
			}
			if i < len(warehouse) && c.GetAttr("nullable").True() != warehouse[i].Nullable {
				bad("column %s: nullable %v, contracts has %v", name, c.GetAttr("nullable").True(), warehouse[i].Nullable)
			}
			columns = append(columns, strings.ToLower(name))
		}
		if !slices.Equal(columns, want) {
			bad("warehouse columns %v, contracts has %v", columns, want)
		}
	}
	known := slices.Clone(columns)
	if countries := sf.Block("resource", "snowflake_table", "countries"); countries != nil {
		for _, d := range countries.Body.Blocks {
			if d.Type != "dynamic" {
				continue
			}
			v, _ := literal(attr(d, "for_each"))
			if v == cty.NilVal {
				bad("snowflake_table.countries: columns must be a literal list")
				continue
			}
			for _, c := range v.AsValueSlice() {
				name := c.GetAttr("name").AsString()
				if name != strings.ToUpper(name) {
					bad("countries column %q is not upper case", name)
				}
				known = append(known, strings.ToLower(name))
			}
		}
	}
	for _, table := range []string{"raw", "transformed"} {
		if b := sf.Block("resource", "snowflake_table", table); !usesDynamicColumns(b) {
			bad("snowflake_table.%s: columns must come from local.warehouse_columns", table)
		}
	}

	if strings.Contains(mergeSQL, `"`) {
		bad("sql/merge_task.sql quotes an identifier: keep names unquoted (upper-cased by Snowflake)")
	}
	var used []string
	for _, m := range qualifiedColumn.FindAllStringSubmatch(mergeSQL, -1) {
		used = append(used, m[1])
	}
	for _, m := range insertList.FindAllStringSubmatch(mergeSQL, -1) {
		for _, c := range strings.Split(m[1], ",") {
			used = append(used, strings.TrimSpace(c))
		}
	}
	for _, c := range used {
		if !slices.Contains(known, strings.ToLower(c)) {
			bad("sql/merge_task.sql names column %s, which no table declares", c)
		}
	}

	raw := sf.Block("resource", "snowflake_table", "raw")
	if v, _ := literal(attr(raw, "change_tracking")); v != cty.True {
		bad("snowflake_table.raw: change_tracking must be true (the stream turns it on)")
	}

	if out := sf.Block("output", "storage_aws_external_id"); out == nil || !strings.Contains(strings.Join(refs(attr(out, "value")), ","), "describe_output") {
		bad("output storage_aws_external_id must read describe_output[0].storage_aws_external_id[0].value")
	}

	pipe := sf.Block("resource", "snowflake_pipe", "raw")
	if !usesRef(pipe, "aws_sns_topic_arn", "local.lake_events_topic_arn") {
		bad("snowflake_pipe.raw: aws_sns_topic_arn must be local.lake_events_topic_arn (the AWS root's gfn-lake-events)")
	}
	if v, _ := literal(attr(pipe, "auto_ingest")); v != cty.True {
		bad("snowflake_pipe.raw: auto_ingest must be true")
	}
	if copy := template(attr(pipe, "copy_statement")); copy == "" {
		bad("snowflake_pipe.raw: copy_statement must be a template")
	} else if m := includeMetadata.FindStringSubmatch(copy); m == nil {
		bad("snowflake_pipe.raw: copy_statement lacks INCLUDE_METADATA")
	} else {
		for _, pair := range strings.Split(m[1], ",") {
			col, _, _ := strings.Cut(pair, "=")
			if col = strings.TrimSpace(col); !slices.Contains(columns, strings.ToLower(col)) {
				bad("the pipe's INCLUDE_METADATA fills %s, which RAW does not declare", col)
			}
		}
	}

	// The names both roots derive from name_prefix.
	for sfLocal, awsName := range map[string]string{"snowflake_role_name": "snowflake_role_name", "lake_events_topic": "lake_events_topic"} {
		got := template(sf.exprs[sfLocal])
		wantName := template(aws.exprs[awsName])
		if awsName == "lake_events_topic" {
			if v, ok := aws.Locals[awsName]; ok {
				wantName = "${var.name_prefix}" + v.AsString()
			}
		}
		if got == "" || got != wantName {
			bad("local.%s is %q in the Snowflake root, the AWS root names it %q", sfLocal, got, wantName)
		}
	}
	return probs
}

func usesDynamicColumns(b *hclsyntax.Block) bool {
	if b == nil {
		return false
	}
	for _, d := range b.Body.Blocks {
		if d.Type == "dynamic" && slices.Equal(d.Labels, []string{"column"}) && usesRef(d, "for_each", "local.warehouse_columns") {
			return true
		}
	}
	return false
}
