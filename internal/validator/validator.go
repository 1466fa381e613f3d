// Package validator collects per-field validation messages so that forms can
// show each next to its field and the API can return them under "fields".
package validator

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Errors maps a field name to what is wrong with it. A nil Errors means valid.
type Errors map[string]string

// Add records msg for field unless the field already has a message: the first
// problem found is the one worth fixing first.
func (e *Errors) Add(field, msg string) {
	if *e == nil {
		*e = Errors{}
	}
	if _, ok := (*e)[field]; !ok {
		(*e)[field] = msg
	}
}

// Check adds msg for field when ok is false.
func (e *Errors) Check(ok bool, field, msg string) {
	if !ok {
		e.Add(field, msg)
	}
}

// OrNil returns nil when there are no messages, so callers can test with != nil.
func (e Errors) OrNil() Errors {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Error lists the messages, so Errors can travel as an error.
func (e Errors) Error() string {
	var b strings.Builder
	first := true
	for _, k := range e.Fields() {
		if !first {
			b.WriteString("; ")
		}
		first = false
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(e[k])
	}
	return b.String()
}

// Fields returns the fields with messages, sorted, for stable output.
func (e Errors) Fields() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	// Insertion sort: these maps hold a handful of fields.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// MaxChars reports whether s has at most n characters (not bytes).
func MaxChars(s string, n int) bool { return utf8.RuneCountInString(s) <= n }

// NotBlank reports whether s has something other than white space.
func NotBlank(s string) bool { return strings.TrimSpace(s) != "" }

// ValidEmail reports whether s is a plain address (no display name) with a
// dotted domain, the form leads and users are stored in.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// NormalizeEmail trims and lower-cases an address: emails are unique per
// tenant in this form.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
