package dlq

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gfnpipeline/contracts"
)

// ErrBadFilter is returned for a --filter expression that does not parse.
var ErrBadFilter = errors.New("bad filter")

// Filter selects DLQ messages. The expression language (--filter):
//
//	EXPR  = TERM { "," TERM }        every term must hold (AND); "" matches everything
//	TERM  = FIELD OP VALUE
//	FIELD = "attr." NAME             a message attribute (attr.event_type, attr.run_id, ...)
//	      | "error"                  shorthand for attr.error, the dead-letter reason
//	      | "body"                   the message body
//	      | "id"                     the SQS message id or the redrive original id
//	OP    = "="  equals | "!=" differs | "~" contains | "!~" does not contain
//
// Values are taken literally up to the next unescaped comma (write "\," for a comma in a
// value); matching is case-sensitive. A missing attribute is the empty string, so
// `attr.run_id!=` selects messages that carry a run id.
//
// Examples: attr.event_type=RawBatchLanded   body~ef-2005   error~timeout,attr.run_id=run-1
type Filter struct {
	terms []term
	src   string
}

type term struct {
	field string // "body", "id" or an attribute name
	op    string
	value string
}

// Fields a Filter looks at in a message.
type Fields struct {
	MessageID  string
	Body       string
	Attributes map[string]string
}

// ParseFilter parses a --filter expression.
func ParseFilter(expr string) (Filter, error) {
	f := Filter{src: expr}
	if strings.TrimSpace(expr) == "" {
		return f, nil
	}
	for _, raw := range splitUnescaped(expr) {
		t, err := parseTerm(raw)
		if err != nil {
			return Filter{}, fmt.Errorf("%w %q: %w", ErrBadFilter, expr, err)
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

func parseTerm(s string) (term, error) {
	i := strings.IndexAny(s, "=~")
	if i < 0 {
		return term{}, fmt.Errorf("term %q has no operator (=, !=, ~, !~)", s)
	}
	op := s[i : i+1]
	field := s[:i]
	if strings.HasSuffix(field, "!") {
		field, op = field[:len(field)-1], "!"+op
	}
	field = strings.TrimSpace(field)
	t := term{op: op, value: s[i+1:]}
	switch {
	case field == "body" || field == "id":
		t.field = field
	case field == "error":
		t.field = "attr." + contracts.AttrError
	case strings.HasPrefix(field, "attr.") && len(field) > len("attr."):
		t.field = field
	default:
		return term{}, fmt.Errorf("term %q: unknown field %q (want attr.NAME, error, body or id)", s, field)
	}
	return t, nil
}

// splitUnescaped splits on commas not preceded by a backslash and unescapes "\,".
func splitUnescaped(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			cur.WriteByte(',')
			i++
		case s[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// Empty reports whether the filter matches every message.
func (f Filter) Empty() bool { return len(f.terms) == 0 }

func (f Filter) String() string { return f.src }

// Match reports whether the message satisfies every term.
func (f Filter) Match(m Fields) bool {
	for _, t := range f.terms {
		if !t.match(m) {
			return false
		}
	}
	return true
}

func (t term) match(m Fields) bool {
	var values []string
	switch t.field {
	case "body":
		values = []string{m.Body}
	case "id":
		values = []string{m.MessageID, m.Attributes[contracts.AttrRedriveOriginalID]}
	default:
		values = []string{m.Attributes[strings.TrimPrefix(t.field, "attr.")]}
	}
	// A positive operator holds when any value satisfies it; a negated one when none does.
	any := false
	for _, v := range values {
		switch t.op {
		case "=", "!=":
			any = any || v == t.value
		case "~", "!~":
			any = any || strings.Contains(v, t.value)
		}
	}
	if t.op[0] == '!' {
		return !any
	}
	return any
}
