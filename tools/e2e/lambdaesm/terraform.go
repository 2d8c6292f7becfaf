package lambdaesm

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Mapping is one aws_lambda_event_source_mapping as terraform configures it, with the timeout
// of the function it invokes.
type Mapping struct {
	// Function and Queue are the deployed names with terraform's default name prefix.
	Function                string
	Queue                   string
	BatchSize               int
	BatchingWindow          time.Duration
	MaximumConcurrency      int
	ReportBatchItemFailures bool
	Timeout                 time.Duration
	MemoryMB                int
}

// ReadTerraform reads every SQS event source mapping terraform declares under dir: dir itself
// when it is a root module that has them, else each root module directly below it (a
// configuration split into several roots). Values are evaluated as terraform would with the
// variables' defaults: module arguments, locals and the defaults they lead to. Every module
// call counts, whatever its count (the DuckDB loader is off in production and on here).
func ReadTerraform(dir string) ([]Mapping, error) {
	ms, err := readRoot(dir)
	if err != nil || len(ms) > 0 {
		return ms, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "modules" || strings.HasPrefix(e.Name(), ".") || e.Name() == "tests" {
			continue
		}
		sub, err := readRoot(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, sub...)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("terraform under %s declares no aws_lambda_event_source_mapping", dir)
	}
	return ms, nil
}

func readRoot(dir string) ([]Mapping, error) {
	mod, err := loadModule(dir)
	if err != nil || mod == nil {
		return nil, err
	}
	root := &scope{mod: mod, memo: map[string]cty.Value{}}
	scopes, err := root.instances()
	if err != nil {
		return nil, err
	}
	var out []Mapping
	for _, s := range scopes {
		for _, r := range s.mod.sortedResources("aws_lambda_event_source_mapping") {
			m, err := s.mapping(r, scopes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.body.SrcRange.Filename, err)
			}
			out = append(out, m)
		}
	}
	return out, nil
}

type module struct {
	dir       string
	variables map[string]*hcl.Attribute // the default, nil without one
	locals    map[string]*hclsyntax.Attribute
	calls     map[string]*call
	resources map[string]*resource // "type.name"
}

type call struct {
	name string
	args map[string]*hclsyntax.Attribute
	mod  *module
}

type resource struct {
	typ, name string
	body      *hclsyntax.Body
}

// loadModule parses dir's .tf files; nil when it has none.
func loadModule(dir string) (*module, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		return nil, err
	}
	m := &module{dir: dir, variables: map[string]*hcl.Attribute{}, locals: map[string]*hclsyntax.Attribute{},
		calls: map[string]*call{}, resources: map[string]*resource{}}
	parser := hclparse.NewParser()
	for _, path := range files {
		f, diags := parser.ParseHCLFile(path)
		if diags.HasErrors() {
			return nil, diags
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			switch {
			case b.Type == "variable" && len(b.Labels) == 1:
				var def *hcl.Attribute
				if a, ok := b.Body.Attributes["default"]; ok {
					def = a.AsHCLAttribute()
				}
				m.variables[b.Labels[0]] = def
			case b.Type == "locals":
				for name, a := range b.Body.Attributes {
					m.locals[name] = a
				}
			case b.Type == "resource" && len(b.Labels) == 2:
				m.resources[b.Labels[0]+"."+b.Labels[1]] = &resource{typ: b.Labels[0], name: b.Labels[1], body: b.Body}
			case b.Type == "module" && len(b.Labels) == 1:
				src, ok := b.Body.Attributes["source"]
				if !ok {
					return nil, fmt.Errorf("%s: module %q has no source", path, b.Labels[0])
				}
				v, diags := src.Expr.Value(nil)
				if diags.HasErrors() || v.Type() != cty.String {
					return nil, fmt.Errorf("%s: module %q: source is not a literal string", path, b.Labels[0])
				}
				source := v.AsString()
				if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
					return nil, fmt.Errorf("%s: module %q: only local module sources are read, not %q", path, b.Labels[0], source)
				}
				child, err := loadModule(filepath.Join(dir, source))
				if err != nil {
					return nil, err
				}
				if child == nil {
					return nil, fmt.Errorf("%s: module %q: no .tf files in %s", path, b.Labels[0], source)
				}
				m.calls[b.Labels[0]] = &call{name: b.Labels[0], args: b.Body.Attributes, mod: child}
			}
		}
	}
	return m, nil
}

func (m *module) sortedResources(typ string) []*resource {
	var out []*resource
	for _, r := range m.resources {
		if r.typ == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// scope is one module instance: the module, the call that made it and the caller's scope.
type scope struct {
	mod    *module
	call   *call
	parent *scope
	memo   map[string]cty.Value
}

// instances lists this scope and every module instance below it.
func (s *scope) instances() ([]*scope, error) {
	out := []*scope{s}
	names := make([]string, 0, len(s.mod.calls))
	for n := range s.mod.calls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := s.mod.calls[n]
		if _, ok := c.args["for_each"]; ok {
			return nil, fmt.Errorf("module %q: for_each on module calls is not read", n)
		}
		child := &scope{mod: c.mod, call: c, parent: s, memo: map[string]cty.Value{}}
		below, err := child.instances()
		if err != nil {
			return nil, err
		}
		out = append(out, below...)
	}
	return out, nil
}

// metaArguments are not attributes of the resource or module.
var metaArguments = map[string]bool{"count": true, "for_each": true, "depends_on": true, "provider": true, "providers": true, "lifecycle": true, "source": true}

var functions = map[string]function.Function{
	"jsonencode": stdlib.JSONEncodeFunc, "merge": stdlib.MergeFunc, "concat": stdlib.ConcatFunc,
	"length": stdlib.LengthFunc, "lookup": stdlib.LookupFunc, "replace": stdlib.ReplaceFunc,
	"format": stdlib.FormatFunc, "lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc,
	"min": stdlib.MinFunc, "max": stdlib.MaxFunc, "coalesce": stdlib.CoalesceFunc,
	"keys": stdlib.KeysFunc, "values": stdlib.ValuesFunc, "contains": stdlib.ContainsFunc,
	"join": stdlib.JoinFunc, "split": stdlib.SplitFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
	"try": tryfunc.TryFunc, "can": tryfunc.CanFunc,
}

// eval evaluates expr in the scope; each is the for_each instance ({key, value}) or nil.
// References it cannot know (data sources, attributes AWS computes) are unknown values.
func (s *scope) eval(expr hcl.Expression, each *cty.Value) (cty.Value, error) {
	vars := map[string]cty.Value{}
	refs := map[string]map[string]cty.Value{}
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if len(tr) < 2 {
			vars[root] = cty.DynamicVal
			continue
		}
		attr, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			vars[root] = cty.DynamicVal
			continue
		}
		var v cty.Value
		var err error
		switch root {
		case "var":
			v, err = s.variable(attr.Name)
		case "local":
			v, err = s.local(attr.Name)
		case "each":
			if each == nil {
				return cty.NilVal, fmt.Errorf("each.%s outside for_each", attr.Name)
			}
			v = each.GetAttr(attr.Name)
		case "count":
			v = cty.NumberIntVal(0)
		case "path":
			v = cty.StringVal(s.mod.dir)
		default:
			if _, ok := s.mod.resources[root+"."+attr.Name]; ok {
				v = s.resource(root + "." + attr.Name)
			} else {
				v = cty.DynamicVal
			}
		}
		if err != nil {
			return cty.NilVal, err
		}
		if refs[root] == nil {
			refs[root] = map[string]cty.Value{}
		}
		refs[root][attr.Name] = v
	}
	for root, attrs := range refs {
		vars[root] = cty.ObjectVal(attrs)
	}
	v, diags := expr.Value(&hcl.EvalContext{Variables: vars, Functions: functions})
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return v, nil
}

// variable is the module call's argument, or the variable's default.
func (s *scope) variable(name string) (cty.Value, error) {
	if s.call != nil {
		if a, ok := s.call.args[name]; ok {
			return s.parent.eval(a.Expr, nil)
		}
	}
	def, ok := s.mod.variables[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("%s: variable %q is not declared", s.mod.dir, name)
	}
	if def == nil {
		return cty.NilVal, fmt.Errorf("%s: variable %q has no default and no argument", s.mod.dir, name)
	}
	return s.eval(def.Expr, nil)
}

func (s *scope) local(name string) (cty.Value, error) {
	key := "local." + name
	if v, ok := s.memo[key]; ok {
		return v, nil
	}
	a, ok := s.mod.locals[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("%s: local %q is not declared", s.mod.dir, name)
	}
	s.memo[key] = cty.DynamicVal // a cycle reads as unknown
	v, err := s.eval(a.Expr, nil)
	if err != nil {
		return cty.NilVal, err
	}
	s.memo[key] = v
	return v, nil
}

// resource is a resource's configured attributes (a map of instances under for_each).
// Attributes that do not evaluate here are unknown; an arn that AWS would compute stands for
// the resource's name, which is all the poller needs of it.
func (s *scope) resource(addr string) cty.Value {
	if v, ok := s.memo[addr]; ok {
		return v
	}
	s.memo[addr] = cty.DynamicVal
	r := s.mod.resources[addr]
	one := func(each *cty.Value) cty.Value {
		attrs := map[string]cty.Value{}
		for name, a := range r.body.Attributes {
			if metaArguments[name] {
				continue
			}
			v, err := s.eval(a.Expr, each)
			if err != nil {
				v = cty.DynamicVal
			}
			attrs[name] = v
		}
		if _, ok := attrs["arn"]; !ok {
			for _, n := range []string{"name", "function_name"} {
				if v, ok := attrs[n]; ok && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
					attrs["arn"] = v
					break
				}
			}
		}
		return cty.ObjectVal(attrs)
	}
	v := cty.DynamicVal
	if fe, ok := r.body.Attributes["for_each"]; ok {
		if coll, err := s.eval(fe.Expr, nil); err == nil && coll.IsWhollyKnown() && (coll.Type().IsMapType() || coll.Type().IsObjectType()) {
			insts := map[string]cty.Value{}
			for it := coll.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				each := cty.ObjectVal(map[string]cty.Value{"key": k, "value": ev})
				insts[k.AsString()] = one(&each)
			}
			v = cty.ObjectVal(insts)
		}
	} else {
		v = one(nil)
	}
	s.memo[addr] = v
	return v
}

// mapping reads an event source mapping and the timeout of the function it names.
func (s *scope) mapping(r *resource, scopes []*scope) (Mapping, error) {
	str := func(name string) (string, error) {
		a, ok := r.body.Attributes[name]
		if !ok {
			return "", fmt.Errorf("%s.%s: %s is not set", r.typ, r.name, name)
		}
		v, err := s.eval(a.Expr, nil)
		if err != nil {
			return "", fmt.Errorf("%s.%s: %s: %w", r.typ, r.name, name, err)
		}
		if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			return "", fmt.Errorf("%s.%s: %s is not a known string here", r.typ, r.name, name)
		}
		return v.AsString(), nil
	}
	var m Mapping
	fn, err := str("function_name")
	if err != nil {
		return m, err
	}
	src, err := str("event_source_arn")
	if err != nil {
		return m, err
	}
	m.Function, m.Queue = lastSegment(fn), lastSegment(src)
	if m.BatchSize, err = s.number(r.body, "batch_size", r); err != nil {
		return m, err
	}
	window, err := s.number(r.body, "maximum_batching_window_in_seconds", r)
	if err != nil {
		return m, err
	}
	m.BatchingWindow = time.Duration(window) * time.Second
	for _, b := range r.body.Blocks {
		if b.Type == "scaling_config" {
			if m.MaximumConcurrency, err = s.number(b.Body, "maximum_concurrency", r); err != nil {
				return m, err
			}
		}
	}
	if m.MaximumConcurrency == 0 {
		return m, fmt.Errorf("%s.%s: scaling_config.maximum_concurrency is not set", r.typ, r.name)
	}
	if a, ok := r.body.Attributes["function_response_types"]; ok {
		v, err := s.eval(a.Expr, nil)
		if err != nil || !v.IsWhollyKnown() || !v.CanIterateElements() {
			return m, fmt.Errorf("%s.%s: function_response_types is not a known list here (%w)", r.typ, r.name, err)
		}
		for it := v.ElementIterator(); it.Next(); {
			if _, e := it.Element(); e.Type() == cty.String && e.AsString() == "ReportBatchItemFailures" {
				m.ReportBatchItemFailures = true
			}
		}
	}
	// The function: whichever aws_lambda_function has the name the mapping invokes.
	for _, fs := range scopes {
		for _, f := range fs.mod.sortedResources("aws_lambda_function") {
			a, ok := f.body.Attributes["function_name"]
			if !ok {
				continue
			}
			if v, err := fs.eval(a.Expr, nil); err != nil || !v.IsKnown() || v.Type() != cty.String || v.AsString() != m.Function {
				continue
			}
			timeout, err := fs.number(f.body, "timeout", f)
			if err != nil {
				return m, err
			}
			m.Timeout = time.Duration(timeout) * time.Second
			if _, ok := f.body.Attributes["memory_size"]; ok {
				if m.MemoryMB, err = fs.number(f.body, "memory_size", f); err != nil {
					return m, err
				}
			}
			return m, nil
		}
	}
	return m, fmt.Errorf("%s.%s: no aws_lambda_function named %q", r.typ, r.name, m.Function)
}

func (s *scope) number(body *hclsyntax.Body, name string, r *resource) (int, error) {
	a, ok := body.Attributes[name]
	if !ok {
		return 0, fmt.Errorf("%s.%s: %s is not set", r.typ, r.name, name)
	}
	v, err := s.eval(a.Expr, nil)
	if err != nil {
		return 0, fmt.Errorf("%s.%s: %s: %w", r.typ, r.name, name, err)
	}
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, fmt.Errorf("%s.%s: %s is not a known number here", r.typ, r.name, name)
	}
	n, acc := v.AsBigFloat().Int64()
	if acc != big.Exact {
		return 0, fmt.Errorf("%s.%s: %s = %s is not a whole number", r.typ, r.name, name, v.AsBigFloat())
	}
	return int(n), nil
}

// lastSegment is the name an ARN ends in (a bare name stays as it is).
func lastSegment(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }
