package postgres

import (
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// importRowsCSV streams a decided batch as COPY … (FORMAT csv) input for
// the import's staging table, in importRowColumns order. Written by hand
// into a reused buffer, a row costs a fraction of what encoding it value
// by value through pgx's type map does, and PostgreSQL reads CSV about as
// fast as its binary format. Every text is quoted, so that an empty text
// stays empty and only an unquoted empty field is NULL (and no field can
// read as the end-of-data marker).
type importRowsCSV struct {
	writes []*importWrite
	next   int
	buf    []byte
	off    int
}

// importCopyChunk is about how much CSV importRowsCSV renders at a time.
const importCopyChunk = 256 << 10

func newImportRowsCSV(writes []*importWrite) *importRowsCSV {
	return &importRowsCSV{writes: writes, buf: make([]byte, 0, importCopyChunk+4096)}
}

func (r *importRowsCSV) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		if r.next == len(r.writes) {
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		for r.next < len(r.writes) && len(r.buf) < importCopyChunk {
			r.buf = appendImportRow(r.buf, r.writes[r.next])
			r.next++
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// appendImportRow appends w as one CSV line of the staging table.
func appendImportRow(b []byte, w *importWrite) []byte {
	in := w.in
	b = appendCSVUUID(b, &w.id)
	b = append(b, ',')
	b = appendCSVBool(b, &w.created)
	for _, s := range [...]*string{in.ExternalID, in.Email, in.FirstName, in.LastName, in.Company, in.Title,
		in.Phone, in.Country, in.Segment, in.Source, in.Campaign} {
		b = append(b, ',')
		b = appendCSVText(b, s)
	}
	b = append(b, ',')
	if in.Score != nil {
		b = strconv.AppendInt(b, int64(*in.Score), 10)
	}
	b = append(b, ',')
	b = appendCSVBool(b, in.ICPFit)
	var createdAt *time.Time
	var stage *string
	if w.created {
		st := string(w.stage)
		createdAt, stage = &w.createdAt, &st
	}
	b = append(b, ',')
	if createdAt != nil {
		// Whole microseconds, cut like pgx's binary encoding does (PostgreSQL
		// would round a longer fraction).
		b = createdAt.UTC().Truncate(time.Microsecond).AppendFormat(b, "2006-01-02 15:04:05.999999Z07:00")
	}
	b = append(b, ',')
	b = appendCSVText(b, stage)
	var owner, team *uuid.UUID
	var why *string
	if a := w.assign; a != nil {
		owner, team, why = a.owner, a.team, &a.why
	}
	b = append(b, ',')
	b = appendCSVUUID(b, owner)
	b = append(b, ',')
	b = appendCSVUUID(b, team)
	b = append(b, ',')
	b = appendCSVText(b, why)
	b = append(b, ',')
	b = appendCSVText(b, w.qualified)
	return append(b, '\n')
}

// appendCSVText appends s quoted (quotes doubled), or nothing for NULL.
func appendCSVText(b []byte, s *string) []byte {
	if s == nil {
		return b
	}
	b = append(b, '"')
	v := *s
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}

func appendCSVUUID(b []byte, id *uuid.UUID) []byte {
	if id == nil {
		return b
	}
	const hexDigits = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

func appendCSVBool(b []byte, v *bool) []byte {
	switch {
	case v == nil:
		return b
	case *v:
		return append(b, 't')
	default:
		return append(b, 'f')
	}
}
