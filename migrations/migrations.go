// Package migrations holds Accord's numbered SQL migrations, embedded in the
// binary so that `accord migrate up` and `accord serve` need no files on disk.
package migrations

import "embed"

// FS holds every *.sql migration, named NNNNNN_title.up.sql / .down.sql as
// golang-migrate expects.
//
//go:embed *.sql
var FS embed.FS
