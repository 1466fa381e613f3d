package validator_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/validator"
)

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"ana@example.com", "a.b+c@sub.example.co.uk", "x@y.de"} {
		require.True(t, validator.ValidEmail(ok), ok)
	}
	for _, bad := range []string{"", "ana", "ana@", "@example.com", "ana@example", "Ana <ana@example.com>", "ana @example.com",
		"ana@example.com.", "ana@.example.com", strings.Repeat("a", 250) + "@example.com"} {
		require.False(t, validator.ValidEmail(bad), bad)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	var errs validator.Errors
	require.Nil(t, errs.OrNil())
	errs.Check(true, "a", "never")
	require.Nil(t, errs.OrNil())
	errs.Check(false, "b", "first")
	errs.Add("b", "second")
	errs.Add("a", "other")
	require.Equal(t, "first", errs["b"], "the first message of a field wins")
	require.Equal(t, "a: other; b: first", errs.Error())
	require.True(t, validator.MaxChars("ünï", 3))
	require.False(t, validator.MaxChars("ünïc", 3))
	require.Equal(t, "ana@example.com", validator.NormalizeEmail(" ANA@Example.com "))
}
