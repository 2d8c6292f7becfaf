package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/gfnpipeline/contracts"
)

// Terraform is the parsed root module: its blocks and the locals that evaluate statically.
type Terraform struct {
	Blocks []*hclsyntax.Block
	Locals map[string]cty.Value
	exprs  map[string]hclsyntax.Expression
}

// UnformattedTerraform lists the .tf files under dir that `terraform fmt` would rewrite
// (hclwrite.Format is the formatter terraform fmt is built on).
func UnformattedTerraform(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tf") {
			return err
		}
		src, err := os.ReadFile(p) //nolint:gosec // G122: the repository's own terraform/ tree, checked in CI
		if err != nil {
			return err
		}
		if !bytes.Equal(hclwrite.Format(src), src) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// ParseTerraform parses the .tf files of one module directory (not its submodules).
func ParseTerraform(dir string) (*Terraform, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .tf files in %s", dir)
	}
	parser := hclparse.NewParser()
	tf := &Terraform{Locals: map[string]cty.Value{}, exprs: map[string]hclsyntax.Expression{}}
	for _, f := range files {
		file, diags := parser.ParseHCLFile(f)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse %s: %s", f, diags.Error())
		}
		for _, b := range file.Body.(*hclsyntax.Body).Blocks {
			tf.Blocks = append(tf.Blocks, b)
			if b.Type == "locals" {
				for name, a := range b.Body.Attributes {
					tf.exprs[name] = a.Expr
				}
			}
		}
	}
	tf.evalLocals()
	return tf, nil
}

// evalLocals evaluates the locals that need nothing but literals and other such locals,
// repeating until no more resolve (terraform's own order, without variables or resources).
func (tf *Terraform) evalLocals() {
	for progress := true; progress; {
		progress = false
		ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(tf.Locals)}}
		for name, e := range tf.exprs {
			if _, done := tf.Locals[name]; done {
				continue
			}
			ready := true
			for _, tr := range e.Variables() {
				if tr.RootName() != "local" {
					ready = false
					break
				}
				if a, ok := tr[1].(hcl.TraverseAttr); !ok || tf.Locals[a.Name] == cty.NilVal {
					ready = false
					break
				}
			}
			if !ready {
				continue
			}
			if v, diags := e.Value(ctx); !diags.HasErrors() && v.IsWhollyKnown() {
				tf.Locals[name] = v
				progress = true
			}
		}
	}
}

// Block finds a block by type and labels.
func (tf *Terraform) Block(typ string, labels ...string) *hclsyntax.Block {
	for _, b := range tf.Blocks {
		if b.Type == typ && slices.Equal(b.Labels, labels) {
			return b
		}
	}
	return nil
}

// refs renders the traversals an expression uses, e.g. "each.value.max_receive_count" or
// `aws_sqs_queue.queue["gfn-loader"].arn`.
func refs(e hclsyntax.Expression) []string {
	var out []string
	for _, tr := range e.Variables() {
		var sb strings.Builder
		for _, step := range tr {
			switch s := step.(type) {
			case hcl.TraverseRoot:
				sb.WriteString(s.Name)
			case hcl.TraverseAttr:
				sb.WriteString("." + s.Name)
			case hcl.TraverseIndex:
				if s.Key.Type() == cty.String {
					fmt.Fprintf(&sb, "[%q]", s.Key.AsString())
				} else {
					sb.WriteString("[?]")
				}
			}
		}
		out = append(out, sb.String())
	}
	return out
}

// template renders a string template as its literal parts and ${references}.
func template(e hclsyntax.Expression) string {
	t, ok := e.(*hclsyntax.TemplateExpr)
	if !ok {
		return ""
	}
	var sb strings.Builder
	for _, p := range t.Parts {
		if lit, ok := p.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String {
			sb.WriteString(lit.Val.AsString())
			continue
		}
		sb.WriteString("${" + strings.Join(refs(p), ",") + "}")
	}
	return sb.String()
}

func attr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if b == nil {
		return nil
	}
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

func usesRef(b *hclsyntax.Block, name, ref string) bool {
	e := attr(b, name)
	return e != nil && slices.Contains(refs(e), ref)
}

// CheckTerraform compares the root module with the topology (base names; the name_prefix
// variable goes before each, as Topology.WithPrefix does) and the per-service modules.
func CheckTerraform(tf *Terraform, top contracts.Topology, services []Service) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	local := func(name string) (cty.Value, bool) {
		v, ok := tf.Locals[name]
		if !ok {
			bad("local.%s is missing or not a static value", name)
		}
		return v, ok
	}

	if v, ok := local("dlq_suffix"); ok && v.AsString() != contracts.DLQSuffix {
		bad("local.dlq_suffix %q, want %q", v.AsString(), contracts.DLQSuffix)
	}
	if v, ok := local("filter_attribute"); ok && v.AsString() != contracts.AttrEventType {
		bad("local.filter_attribute %q, want %q", v.AsString(), contracts.AttrEventType)
	}
	lakeTopic := ""
	if v, ok := tf.Locals["lake_events_topic"]; ok {
		lakeTopic = v.AsString()
	}
	var tfTopics []string
	if v, ok := local("topics"); ok {
		for _, t := range v.AsValueSlice() {
			tfTopics = append(tfTopics, t.AsString())
		}
		for _, t := range top.Topics {
			if !slices.Contains(tfTopics, t) {
				bad("topic %s of the topology is not declared in local.topics", t)
			}
		}
		for _, t := range tfTopics {
			if !slices.Contains(top.Topics, t) && t != lakeTopic {
				bad("topic %s in local.topics is not in the topology", t)
			}
		}
	}
	if v, ok := local("queues"); ok {
		have := v.AsValueMap()
		for _, q := range top.Queues {
			tq, ok := have[q.Name]
			if !ok {
				bad("queue %s (and its DLQ %s) not declared in local.queues", q.Name, q.DLQ())
				continue
			}
			for field, want := range map[string]int{
				"visibility_timeout_seconds": q.LambdaVisibilityTimeoutSeconds,
				"max_receive_count":          q.MaxReceiveCount,
				"retention_seconds":          q.RetentionSeconds,
			} {
				if got := intAttr(tq, field); got != want {
					bad("queue %s: %s %d, topology has %d", q.Name, field, got, want)
				}
			}
		}
		for name := range have {
			if _, ok := top.Queue(name); !ok {
				bad("queue %s in local.queues is not in the topology", name)
			}
		}
	}
	// tfSubs: the subscriptions terraform declares, keyed by queue.
	tfSubs := map[string]cty.Value{}
	if v, ok := local("subscriptions"); ok {
		tfSubs = v.AsValueMap()
		for _, s := range top.Subscriptions {
			ts, ok := tfSubs[s.Queue]
			if !ok {
				bad("subscription of %s to %s not declared", s.Queue, s.Topic)
				continue
			}
			if got := ts.GetAttr("topic").AsString(); got != s.Topic {
				bad("subscription of %s: topic %s, topology has %s", s.Queue, got, s.Topic)
			}
			if got := filterPolicy(eventTypes(ts)); got != s.FilterPolicy() {
				bad("subscription of %s: filter policy %s, topology has %s", s.Queue, got, s.FilterPolicy())
			}
		}
	}
	// A topology notification (prefix -> queue) is delivered straight to the queue, or through
	// a topic the queue subscribes to unfiltered (production fans transformed/ out to Snowpipe
	// and the loader through gfn-lake-events).
	delivered := map[string]bool{}
	if v, ok := local("bucket_notifications"); ok {
		for _, n := range v.AsValueSlice() {
			key := n.GetAttr("prefix").AsString() + "*" + n.GetAttr("suffix").AsString()
			switch {
			case n.Type().HasAttribute("queue"):
				delivered[key+" -> "+n.GetAttr("queue").AsString()] = true
			case n.Type().HasAttribute("topic"):
				topic := n.GetAttr("topic").AsString()
				if !slices.Contains(tfTopics, topic) {
					bad("bucket notification %s goes to topic %s, which is not in local.topics", key, topic)
				}
				for q, s := range tfSubs {
					if s.GetAttr("topic").AsString() == topic && len(eventTypes(s)) == 0 {
						delivered[key+" -> "+q] = true
					}
				}
			default:
				bad("bucket notification %s names neither a queue nor a topic", key)
			}
		}
	}
	want := map[string]bool{}
	for _, n := range top.Notifications {
		for _, q := range notifiedQueues(top, n) {
			key := n.Prefix + "*" + n.Suffix + " -> " + q
			want[key] = true
			if !delivered[key] {
				bad("bucket notification %s is not delivered (the topology has it)", key)
			}
		}
	}
	for key := range delivered {
		if !want[key] {
			bad("bucket notification %s is not in the topology", key)
		}
	}
	// Subscriptions beyond the topology's may only carry bucket notifications.
	for q, s := range tfSubs {
		inTopology := slices.ContainsFunc(top.Subscriptions, func(ts contracts.Subscription) bool { return ts.Queue == q })
		if !inTopology && s.GetAttr("topic").AsString() != lakeTopic {
			bad("subscription of %s to %s is not in the topology", q, s.GetAttr("topic").AsString())
		}
	}
	checkBucket(tf, top, bad)
	if v, ok := local("command_queues"); ok {
		for typ, q := range top.CommandQueues {
			if m := v.AsValueMap(); m[typ] == cty.NilVal || m[typ].AsString() != q {
				bad("command %s must go to queue %s", typ, q)
			}
		}
	}
	checkResources(tf, bad)
	checkModules(tf, services, bad)
	checkLambdaVisibility(tf, top, services, bad)
	checkSnowflakeSecret(tf, bad)
	checkScheduler(tf, top, bad)
	return probs
}

// notifiedQueues are the queues a topology bucket notification reaches: the unfiltered
// subscribers of its topic.
func notifiedQueues(top contracts.Topology, n contracts.BucketNotification) []string {
	var out []string
	for _, s := range top.Subscriptions {
		if s.Topic == n.Topic && len(s.EventTypes) == 0 {
			out = append(out, s.Queue)
		}
	}
	return out
}

func eventTypes(sub cty.Value) []string {
	var out []string
	for _, t := range sub.GetAttr("event_types").AsValueSlice() {
		out = append(out, t.AsString())
	}
	return out
}

// checkBucket: the lake bucket is the topology's, with the prefix put before it.
func checkBucket(tf *Terraform, top contracts.Topology, bad func(string, ...any)) {
	if v, _ := literal(attr(tf.Block("variable", "bucket_name"), "default")); v == cty.NilVal || v.AsString() != top.Bucket {
		bad("variable bucket_name must default to the topology's bucket %s", top.Bucket)
	}
	if e, ok := tf.exprs["bucket"]; !ok || template(e) != "${var.name_prefix}${var.bucket_name}" {
		bad(`local.bucket must be "${var.name_prefix}${var.bucket_name}"`)
	}
	if b := tf.Block("resource", "aws_s3_bucket", "lake"); !usesRef(b, "bucket", "local.bucket") {
		bad("aws_s3_bucket.lake must be named local.bucket")
	}
}

// LambdaTimeouts reads the default of variable lambda_settings: each service's timeout.
func LambdaTimeouts(tf *Terraform) map[string]int {
	v, _ := literal(attr(tf.Block("variable", "lambda_settings"), "default"))
	if v == cty.NilVal || !v.CanIterateElements() {
		return nil
	}
	out := map[string]int{}
	for name, s := range v.AsValueMap() {
		out[name] = intAttr(s, "timeout_seconds")
	}
	return out
}

// checkLambdaVisibility: AWS asks for a visibility timeout of at least 6x the function
// timeout on an SQS event source, or a message is handed to a second invocation while the
// first still runs. Each module must also hand its queue's visibility to the precondition.
func checkLambdaVisibility(tf *Terraform, top contracts.Topology, services []Service, bad func(string, ...any)) {
	timeouts := LambdaTimeouts(tf)
	if timeouts == nil {
		bad("variable lambda_settings has no static default")
		return
	}
	for _, s := range services {
		timeout, ok := timeouts[s.Name]
		if !ok {
			bad("lambda_settings has no %s", s.Name)
			continue
		}
		if q, ok := top.Queue(s.Queue); ok && q.LambdaVisibilityTimeoutSeconds < 6*timeout {
			bad("queue %s: visibility timeout %ds is under 6x the %s Lambda's timeout %ds", q.Name, q.LambdaVisibilityTimeoutSeconds, s.Name, timeout)
		}
		want := fmt.Sprintf("local.queues[%q].visibility_timeout_seconds", s.Queue)
		if m := tf.Block("module", s.Name); m != nil && !usesRef(m, "queue_visibility_timeout_seconds", want) {
			bad("module.%s: queue_visibility_timeout_seconds must be %s", s.Name, want)
		}
	}
}

// checkSnowflakeSecret: the Snowflake credentials go to the loader (load confirmation) and
// the Soda job only, never to another service module.
func checkSnowflakeSecret(tf *Terraform, bad func(string, ...any)) {
	const secret = "aws_secretsmanager_secret.snowflake"
	for _, b := range tf.Blocks {
		if b.Type != "module" || len(b.Labels) != 1 || b.Labels[0] == contracts.ServiceLoader {
			continue
		}
		for name, a := range b.Body.Attributes {
			for _, r := range refs(a.Expr) {
				if strings.HasPrefix(r, secret) {
					bad("module.%s gets the Snowflake secret (%s); only the loader and the Soda job may", b.Labels[0], name)
				}
			}
		}
	}
}

// checkResources: the resources must be built from the locals checked above, with the names
// the services derive (prefix + base name).
func checkResources(tf *Terraform, bad func(string, ...any)) {
	q := tf.Block("resource", "aws_sqs_queue", "queue")
	if !usesRef(q, "for_each", "local.queues") || template(attr(q, "name")) != "${var.name_prefix}${each.key}" {
		bad(`aws_sqs_queue.queue: want for_each = local.queues, name = "${var.name_prefix}${each.key}"`)
	}
	if !usesRef(q, "visibility_timeout_seconds", "each.value.visibility_timeout_seconds") ||
		!usesRef(q, "redrive_policy", "each.value.max_receive_count") ||
		!usesRef(q, "redrive_policy", "aws_sqs_queue.dlq") {
		bad("aws_sqs_queue.queue: visibility timeout and redrive must come from local.queues and the DLQ")
	}
	d := tf.Block("resource", "aws_sqs_queue", "dlq")
	if !usesRef(d, "for_each", "local.queues") || template(attr(d, "name")) != "${var.name_prefix}${each.key}${local.dlq_suffix}" {
		bad(`aws_sqs_queue.dlq: want for_each = local.queues, name = "${var.name_prefix}${each.key}${local.dlq_suffix}"`)
	}
	t := tf.Block("resource", "aws_sns_topic", "topic")
	if !usesRef(t, "for_each", "local.topics") || template(attr(t, "name")) != "${var.name_prefix}${each.key}" {
		bad(`aws_sns_topic.topic: want for_each = local.topics, name = "${var.name_prefix}${each.key}"`)
	}
	s := tf.Block("resource", "aws_sns_topic_subscription", "queue")
	if !usesRef(s, "for_each", "local.subscriptions") {
		bad("aws_sns_topic_subscription.queue: want for_each = local.subscriptions")
	}
	if v, _ := literal(attr(s, "raw_message_delivery")); v != cty.True {
		bad("aws_sns_topic_subscription.queue: raw_message_delivery must be true")
	}
	if !usesRef(s, "filter_policy", "local.filter_attribute") || !usesRef(s, "filter_policy", "each.value.event_types") {
		bad("aws_sns_topic_subscription.queue: filter_policy must be built from local.filter_attribute and each.value.event_types")
	}
	n := tf.Block("resource", "aws_s3_bucket_notification", "lake")
	found := false
	if n != nil {
		for _, b := range n.Body.Blocks {
			if b.Type != "dynamic" || len(b.Labels) != 1 || (b.Labels[0] != "queue" && b.Labels[0] != "topic") || !usesRef(b, "for_each", "local.bucket_notifications") {
				continue
			}
			l := b.Labels[0]
			for _, c := range b.Body.Blocks {
				found = found || c.Type == "content" && usesRef(c, "filter_prefix", l+".value.prefix") && usesRef(c, "filter_suffix", l+".value.suffix")
			}
		}
	}
	if !found {
		bad("aws_s3_bucket_notification.lake: want dynamic \"queue\" or \"topic\" over local.bucket_notifications with their prefix and suffix")
	}
}

// checkModules: local.services names the services, and each has a module fed its own queue
// and DLQ.
func checkModules(tf *Terraform, services []Service, bad func(string, ...any)) {
	var want, have []string
	for _, s := range services {
		want = append(want, s.Name)
	}
	if v, ok := tf.Locals["services"]; ok && v.CanIterateElements() {
		for _, n := range v.AsValueSlice() {
			have = append(have, n.AsString())
		}
	}
	if !slices.Equal(have, want) {
		bad("local.services %v, the services are %v", have, want)
	}
	for _, s := range services {
		m := tf.Block("module", s.Name)
		if m == nil {
			bad("module %q missing (each service deploys alone with -target=module.%s)", s.Name, s.Name)
			continue
		}
		if v, _ := literal(attr(m, "source")); v == cty.NilVal || v.AsString() != "./modules/"+s.Name {
			bad("module.%s: source must be ./modules/%s", s.Name, s.Name)
		}
		for field, res := range map[string]string{"queue_arn": "queue", "dlq_arn": "dlq"} {
			want := fmt.Sprintf("aws_sqs_queue.%s[%q].arn", res, s.Queue)
			if !usesRef(m, field, want) {
				bad("module.%s: %s must be %s", s.Name, field, want)
			}
		}
	}
}

// checkScheduler: the daily ExtractionRequested, as the extractor's consumer decodes it.
func checkScheduler(tf *Terraform, top contracts.Topology, bad func(string, ...any)) {
	if v, _ := literal(attr(tf.Block("variable", "schedule_expression"), "default")); v == cty.NilVal || v.AsString() != "cron(0 6 * * ? *)" {
		bad("variable schedule_expression must default to cron(0 6 * * ? *)")
	}
	req := contracts.ExtractionRequested{}
	if v, ok := tf.Locals["scheduled_attributes"]; !ok {
		bad("local.scheduled_attributes missing")
	} else {
		m := v.AsValueMap()
		for k, want := range map[string]string{
			contracts.AttrType: req.MessageType(), contracts.AttrEventType: req.EventType(), contracts.AttrSpecVersion: contracts.SpecVersion,
		} {
			if m[k] == cty.NilVal || m[k].AsString() != want {
				bad("scheduled message attribute %s must be %q", k, want)
			}
		}
		if len(m) > 10 {
			bad("scheduled message has %d attributes; SQS allows 10", len(m))
		}
	}
	if q, ok := tf.Locals["extractor_command_queue"]; !ok || q.AsString() != top.CommandQueues[req.EventType()] {
		bad("the schedule must send to the %s command queue", req.EventType())
	}
	body, ok := tf.exprs["scheduled_body"].(*hclsyntax.FunctionCallExpr)
	if !ok || len(body.Args) == 0 {
		bad("local.scheduled_body must be merge({...}, ...)")
		return
	}
	obj, ok := body.Args[0].(*hclsyntax.ObjectConsExpr)
	if !ok {
		bad("local.scheduled_body: the first merge argument must be the body object")
		return
	}
	fields := jsonFields(req)
	have := map[string]bool{}
	for _, it := range obj.Items {
		k, _ := literal(it.KeyExpr)
		if k == cty.NilVal || !fields[k.AsString()] {
			bad("scheduled body field %v is not an ExtractionRequested field", k)
			continue
		}
		have[k.AsString()] = true
	}
	for _, f := range []string{"run_id", "mode", "requested_at"} {
		if !have[f] {
			bad("scheduled body lacks %s", f)
		}
	}
}

// literal evaluates an expression that needs no variables.
func literal(e hclsyntax.Expression) (cty.Value, bool) {
	// A bare object key (run_id = ...) parses as a traversal but means the string.
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if name := hcl.ExprAsKeyword(k.Wrapped); name != "" {
			return cty.StringVal(name), true
		}
	}
	if e == nil || len(e.Variables()) > 0 {
		return cty.NilVal, false
	}
	v, diags := e.Value(nil)
	return v, !diags.HasErrors()
}

// jsonFields lists the JSON field names of a struct, embedded structs included.
func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				out[name] = true
			}
		}
	}
	walk(reflect.TypeOf(v))
	return out
}

func intAttr(v cty.Value, name string) int {
	if !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return -1
	}
	f, _ := v.GetAttr(name).AsBigFloat().Int64()
	return int(f)
}

// filterPolicy is what terraform's jsonencode({(attr) = sort(types)}) produces.
func filterPolicy(types []string) string {
	if len(types) == 0 {
		return ""
	}
	sorted := slices.Clone(types)
	sort.Strings(sorted)
	b, _ := json.Marshal(map[string][]string{contracts.AttrEventType: sorted})
	return string(b)
}
