package server

import (
	"bytes"
	"encoding/json"
)

// optional is a JSON field of a PATCH body that tells "left out" (Set false)
// from "null" (Set, Null) from a value.
type optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON is called only for fields present in the body.
func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Null = true
		return nil
	}
	// Nested objects refuse unknown fields like the body around them.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(&o.Value)
}
