package main

import (
	"testing"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) { postgrestest.Main(m) }
