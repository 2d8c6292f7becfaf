package platform

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/telemetry"
)

// Config is the platform's settings, which every service reads. A service's own settings are
// its service package's Config; main parses both once, at start (Main).
type Config struct {
	Names
	Log
	// Runtime is how the service consumes its queues.
	Runtime Runtime `env:"RUNTIME" envDefault:"poller"`
	Poller
}

// Names say where the pipeline's resources are.
type Names struct {
	// Bucket is the data lake bucket (contracts.DefaultBucket).
	Bucket string `env:"GFN_BUCKET" envDefault:"gfn-data-lake"`
	// NamePrefix goes before every queue, topic and bucket name (environments, tests).
	NamePrefix string `env:"GFN_NAME_PREFIX"`
}

// Topology is the queues, topics and bucket these names give.
func (n Names) Topology() contracts.Topology {
	top := contracts.DefaultTopology(n.Bucket)
	if n.NamePrefix != "" {
		top = top.WithPrefix(n.NamePrefix)
	}
	return top
}

// Log is the logging settings.
type Log struct {
	// Level is debug, info, warn or error; anything else means info.
	Level string `env:"LOG_LEVEL" envDefault:"info"`
}

// Poller is the long-running SQS poller's settings (a Lambda's come from its event source).
type Poller struct {
	// Concurrency is how many messages of a queue are handled at once.
	Concurrency int `env:"GFN_CONCURRENCY" envDefault:"1"`
	// WaitSeconds is the SQS long-poll wait, at most 20.
	WaitSeconds int `env:"SQS_WAIT_SECONDS" envDefault:"20"`
	// DrainTimeout bounds a stopping poller's drain (messaging.DefaultDrainTimeout).
	DrainTimeout time.Duration `env:"GFN_DRAIN_TIMEOUT" envDefault:"25s"`
	// MetricsAddr, when set, serves Prometheus GET /metrics there (host:port).
	MetricsAddr string `env:"GFN_METRICS_ADDR"`
}

// Runtimes.
const (
	RuntimePoller = "poller"
	RuntimeLambda = "lambda"
)

// Runtime is RuntimePoller or RuntimeLambda.
type Runtime string

// UnmarshalText accepts the runtimes only.
func (r *Runtime) UnmarshalText(b []byte) error {
	switch v := string(b); v {
	case RuntimePoller, RuntimeLambda:
		*r = Runtime(v)
		return nil
	}
	return fmt.Errorf("want %s or %s", RuntimePoller, RuntimeLambda)
}

// SettingError is a setting whose value the service cannot use.
type SettingError struct {
	Name, Value string
	Err         error
}

func (e *SettingError) Error() string { return fmt.Sprintf("%s=%q: %v", e.Name, e.Value, e.Err) }

func (e *SettingError) Unwrap() error { return e.Err }

// ParseEnv parses settings struct T (a Config) from the process environment, then validates
// it (T's Validate method, when it has one). It is the only reader of a service's environment.
func ParseEnv[T any]() (T, error) { return Parse[T](os.Getenv) }

// Parse parses settings struct T from getenv. Fields name their variable with an env tag and
// their default with envDefault (github.com/caarlos0/env); unset or empty means the default.
// Numbers and durations must be positive. Every error names the variable and its value, so a
// typo stops the service instead of silently using the default.
func Parse[T any](getenv func(string) string) (T, error) {
	var cfg T
	params, err := env.GetFieldParams(&cfg)
	if err != nil {
		return cfg, fmt.Errorf("settings %T: %w", cfg, err)
	}
	environ := map[string]string{}
	for _, p := range params {
		if v := getenv(p.Key); v != "" {
			environ[p.Key] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: environ, FuncMap: parsers}); err != nil {
		return cfg, settingErrors(reflect.TypeFor[T](), params, environ, err)
	}
	if v, ok := any(&cfg).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// Setting is one environment variable a settings struct reads.
type Setting struct {
	Name     string
	Default  string // "" when there is none
	Required bool
}

// Settings lists the variables settings struct T reads, in field order.
func Settings[T any]() []Setting {
	var cfg T
	params, err := env.GetFieldParams(&cfg)
	if err != nil {
		panic(fmt.Sprintf("settings %T: %v", cfg, err)) // a malformed tag: a programming error
	}
	out := make([]Setting, len(params))
	for i, p := range params {
		out[i] = Setting{Name: p.Key, Default: p.DefaultValue, Required: p.Required}
	}
	return out
}

// Logger is a command's JSON logger on stderr at LOG_LEVEL, for commands that run no service
// (gfnctl, test stand-ins); a service's logger comes with its Deps.
func Logger(name string, getenv func(string) string) *slog.Logger {
	l, _ := Parse[Log](getenv) // a string: nothing to reject
	return telemetry.NewLogger(os.Stderr, name, l.Level)
}

// Topology is the topology GFN_BUCKET and GFN_NAME_PREFIX give, for commands that run no
// service.
func Topology(getenv func(string) string) contracts.Topology {
	n, _ := Parse[Names](getenv) // strings: nothing to reject
	return n.Topology()
}

// parsers hold the pipeline's rules for every setting of a kind.
var parsers = map[reflect.Type]env.ParserFunc{
	reflect.TypeFor[int](): func(v string) (any, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, errors.New("want a positive whole number")
		}
		return n, nil
	},
	reflect.TypeFor[float64](): func(v string) (any, error) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return nil, errors.New("want a positive number")
		}
		return f, nil
	},
	reflect.TypeFor[time.Duration](): func(v string) (any, error) {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, errors.New("want a positive duration such as 30s")
		}
		return d, nil
	},
	reflect.TypeFor[bool](): func(v string) (any, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errors.New("want true or false")
		}
		return b, nil
	},
}

// settingErrors turns the env library's errors, which name struct fields, into
// SettingErrors, which name variables.
func settingErrors(t reflect.Type, params []env.FieldParams, environ map[string]string, err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := map[fieldID][]string{}
	fieldKeys(t, keys)
	defaults := map[string]string{}
	for _, p := range params {
		defaults[p.Key] = p.DefaultValue
	}
	errs := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		var unset env.VarIsNotSetError
		switch {
		case errors.As(e, &pe):
			names := keys[fieldID{pe.Name, pe.Type}]
			name := strings.Join(names, " or ")
			value, ok := environ[name]
			if !ok {
				value = defaults[name]
			}
			errs = append(errs, &SettingError{Name: name, Value: value, Err: pe.Err})
		case errors.As(e, &unset):
			errs = append(errs, fmt.Errorf("%s: required, not set", unset.Key))
		default:
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

type fieldID struct {
	name string
	typ  reflect.Type
}

// fieldKeys maps t's fields, nested structs' included, to the variables they read, as the env
// library walks them (envPrefix aside, which no settings struct uses).
func fieldKeys(t reflect.Type, keys map[fieldID][]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if key == "-" {
			continue
		}
		if key != "" {
			id := fieldID{f.Name, f.Type}
			keys[id] = append(keys[id], key)
		}
		if f.Type.Kind() == reflect.Struct {
			fieldKeys(f.Type, keys)
		}
	}
}
