package lead

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Limits of CSVReader. They bound the memory one record can take, whatever
// the file holds: a quote that is never closed cannot swallow the rest of a
// 1 GiB file.
const (
	// MaxCSVRecordBytes is the longest a record (all its physical lines) may be.
	MaxCSVRecordBytes = 1 << 20
	// MaxCSVFields is the most cells a record may have.
	MaxCSVFields = 2000
)

// Record is one record of a CSV file: its cells and the physical line of
// the file it starts on (1-based; a cell with line breaks makes a record
// span several lines).
type Record struct {
	Line   int
	Fields []string
}

// LineError is a problem with one record: the caller reports it and reads
// on. Msg is a full sentence that starts with "line N" and says what to fix.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return e.Msg }

// FileError means the whole file cannot be read as a CSV file (a
// spreadsheet, another encoding). Msg says what to do instead.
type FileError struct {
	Msg string
}

func (e *FileError) Error() string { return e.Msg }

// errBlank marks a record with nothing in it; Read skips those.
var errBlank = errors.New("blank record")

// errTooLong marks a physical line cut at the record budget.
var errTooLong = errors.New("line too long")

// CSVReader reads an RFC 4180 CSV stream record by record in bounded
// memory. Unlike encoding/csv it keeps reading after a malformed record:
// the record is reported as a *LineError and reading resumes on the line
// after the one it started on, so one stray quote costs one row, not the
// rest of the file. It also strips a UTF-8 byte order mark, detects the
// delimiter (comma, semicolon or tab) from the first line, refuses UTF-16
// and spreadsheet files (*FileError), reports records that are not valid
// UTF-8, skips blank lines and records whose cells are all blank, and
// treats CRLF like LF (also inside quoted cells).
type CSVReader struct {
	src     *bufio.Reader
	pend    []byte // bytes put back by a rewind, read before src
	comma   byte
	started bool
	line    int   // physical lines consumed
	offset  int64 // bytes consumed
	raw     []byte
	field   []byte
	ends    []int
	err     error // sticky: a file or I/O error
}

// NewCSVReader reads a file from its first byte.
func NewCSVReader(r io.Reader) *CSVReader {
	return &CSVReader{src: bufio.NewReaderSize(r, 64<<10)}
}

// Comma is the delimiter in use (known after the first Read).
func (r *CSVReader) Comma() byte { return r.comma }

// Line is the number of physical lines consumed so far.
func (r *CSVReader) Line() int { return r.line }

// Offset is the number of bytes of the file consumed so far. After a
// record, it is where the next record's line begins.
func (r *CSVReader) Offset() int64 { return r.offset }

// Read returns the next record. Its error is io.EOF at the end of the file,
// a *LineError for a malformed record (read on), a *FileError for a file
// that is not CSV, or the source's error.
func (r *CSVReader) Read() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if !r.started {
		r.started = true
		if err := r.sniff(); err != nil {
			r.err = err
			return Record{}, err
		}
	}
	for {
		rec, err := r.readRecord()
		if errors.Is(err, errBlank) {
			continue
		}
		var le *LineError
		if err != nil && err != io.EOF && !errors.As(err, &le) {
			r.err = err
		}
		return rec, err
	}
}

// sniff looks at the first bytes: byte order marks, spreadsheet formats,
// and the delimiter of the first line.
func (r *CSVReader) sniff() error {
	head, err := r.src.Peek(4)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = r.src.Discard(3)
		r.offset = 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return &FileError{Msg: "the file is UTF-16 text, not UTF-8: save it as CSV UTF-8 (in Excel: Save As → CSV UTF-8) and upload it again"}
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return &FileError{Msg: "the file is a spreadsheet workbook (.xlsx), not CSV: save it as CSV UTF-8 (in Excel: Save As → CSV UTF-8) and upload that"}
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return &FileError{Msg: "the file is an old Excel workbook (.xls), not CSV: save it as CSV UTF-8 (in Excel: Save As → CSV UTF-8) and upload that"}
	}
	first, _ := r.src.Peek(r.src.Size())
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	r.comma = detectComma(first)
	return nil
}

// detectComma picks the delimiter that occurs most often outside quotes in
// a header line: comma, semicolon (spreadsheets in many European locales)
// or tab; comma when there is none.
func detectComma(line []byte) byte {
	counts := map[byte]int{}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// readRecord reads the lines of one record and splits them into cells.
func (r *CSVReader) readRecord() (Record, error) {
	r.raw, r.field, r.ends = r.raw[:0], r.field[:0], r.ends[:0]
	startLine, startOffset := r.line+1, r.offset
	n, err := r.readLine(MaxCSVRecordBytes)
	switch {
	case n == 0 && err == io.EOF:
		return Record{}, io.EOF
	case errors.Is(err, errTooLong):
		r.skipLine()
		return Record{}, &LineError{Line: startLine, Msg: fmt.Sprintf("line %d is longer than 1 MiB: check that the file is a CSV export", startLine)}
	case err != nil && err != io.EOF:
		return Record{}, err
	}
	firstLen := len(r.raw)
	if len(bytes.TrimSpace(r.raw)) == 0 {
		return Record{}, errBlank
	}
	lineStart := 0
	inQuote := false
	for {
		content, hasNL := lineContent(r.raw[lineStart:])
		done, msg := r.parseLine(content, hasNL, &inQuote)
		if msg == "" && len(r.ends) > MaxCSVFields {
			msg = fmt.Sprintf("line %d has more than %d cells: check that the file is a CSV export", startLine, MaxCSVFields)
		}
		if msg != "" {
			return Record{}, r.fail(startLine, startOffset, firstLen, fmt.Sprintf(msg, startLine))
		}
		if done {
			break
		}
		// A quoted cell goes on past the end of this line.
		lineStart = len(r.raw)
		n, err := r.readLine(MaxCSVRecordBytes - len(r.raw))
		switch {
		case errors.Is(err, errTooLong):
			return Record{}, r.fail(startLine, startOffset, firstLen, fmt.Sprintf(
				"line %d: a quoted cell runs on for more than 1 MiB: a closing double quote (\") is probably missing", startLine))
		case n == 0 && err == io.EOF:
			return Record{}, r.fail(startLine, startOffset, firstLen, fmt.Sprintf(
				"line %d: a quoted cell is never closed: add the missing double quote (\") at the end of the cell", startLine))
		case err != nil && err != io.EOF:
			return Record{}, err
		}
	}
	if !r.validUTF8() {
		return Record{}, &LineError{Line: startLine, Msg: fmt.Sprintf(
			"line %d is not valid UTF-8: save the file as UTF-8 (in Excel: Save As → CSV UTF-8)", startLine)}
	}
	if len(bytes.TrimSpace(r.field)) == 0 {
		return Record{}, errBlank
	}
	s := string(r.field)
	fields := make([]string, len(r.ends))
	prev := 0
	for i, end := range r.ends {
		fields[i] = s[prev:end]
		prev = end
	}
	return Record{Line: startLine, Fields: fields}, nil
}

// validUTF8 checks each cell on its own: cells that are broken apart can
// make a valid sequence together.
func (r *CSVReader) validUTF8() bool {
	if utf8.Valid(r.field) {
		// Quick for the usual case; a cut inside a sequence still needs
		// the cell by cell check below, which only a non-ASCII file pays.
		ascii := true
		for _, c := range r.field {
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			return true
		}
	}
	prev := 0
	for _, end := range r.ends {
		if !utf8.Valid(r.field[prev:end]) {
			return false
		}
		prev = end
	}
	return true
}

// fail reports a malformed record. When the record ran over several lines,
// they are put back and reading resumes on the line after its first, so
// the rows a stray quote swallowed are read on their own.
func (r *CSVReader) fail(startLine int, startOffset int64, firstLen int, msg string) error {
	if len(r.raw) > firstLen {
		back := make([]byte, 0, len(r.raw)-firstLen+len(r.pend))
		back = append(back, r.raw[firstLen:]...)
		back = append(back, r.pend...)
		r.pend = back
		r.line = startLine
		r.offset = startOffset + int64(firstLen)
	}
	return &LineError{Line: startLine, Msg: msg}
}

// lineContent strips the line break (LF or CRLF) off a physical line and
// says whether there was one (the last line of a file may have none).
func lineContent(line []byte) ([]byte, bool) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, true
	}
	return line, false
}

// parseLine splits one physical line (without its break) into cells,
// continuing a quoted cell from the line before when inQuote is set. It
// reports whether the record ends here, or a message (with %d for the
// record's line) when the line is malformed.
func (r *CSVReader) parseLine(line []byte, hasNL bool, inQuote *bool) (bool, string) {
	i := 0
	for {
		if *inQuote {
			j := bytes.IndexByte(line[i:], '"')
			if j < 0 {
				r.field = append(r.field, line[i:]...)
				if !hasNL {
					return false, "line %d: a quoted cell is never closed: add the missing double quote (\") at the end of the cell"
				}
				r.field = append(r.field, '\n')
				return false, ""
			}
			r.field = append(r.field, line[i:i+j]...)
			i += j + 1
			switch {
			case i < len(line) && line[i] == '"':
				r.field = append(r.field, '"')
				i++
				continue
			case i == len(line):
				*inQuote = false
				r.ends = append(r.ends, len(r.field))
				return true, ""
			case line[i] == r.comma:
				*inQuote = false
				r.ends = append(r.ends, len(r.field))
				i++
			default:
				return false, "line %d: a quoted cell has more text after its closing quote: put the whole cell in double quotes and write each quote inside it twice (\"\")"
			}
			if len(r.ends) > MaxCSVFields {
				return false, ""
			}
		}
		// The start of a cell.
		if i < len(line) && line[i] == '"' {
			*inQuote = true
			i++
			continue
		}
		j := bytes.IndexByte(line[i:], r.comma)
		cell := line[i:]
		if j >= 0 {
			cell = line[i : i+j]
		}
		if bytes.IndexByte(cell, '"') >= 0 {
			return false, "line %d: a cell has a double quote (\") inside but does not start with one: put the whole cell in double quotes and write each quote inside it twice (\"\")"
		}
		r.field = append(r.field, cell...)
		r.ends = append(r.ends, len(r.field))
		if j < 0 {
			return true, ""
		}
		if len(r.ends) > MaxCSVFields {
			return false, ""
		}
		i += j + 1
	}
}

// readLine appends the next physical line (with its line break) to r.raw,
// at most budget bytes of it: a longer line is cut there with errTooLong,
// its rest left unread. It returns the bytes appended; io.EOF comes with
// the last line of a file that has no final line break, or alone at the end.
func (r *CSVReader) readLine(budget int) (int, error) {
	n := 0
	for len(r.pend) > 0 {
		chunk := r.pend
		nl := bytes.IndexByte(chunk, '\n')
		if nl >= 0 {
			chunk = chunk[:nl+1]
		}
		if len(chunk) > budget-n {
			take := budget - n
			r.raw = append(r.raw, chunk[:take]...)
			r.pend = r.pend[take:]
			r.offset += int64(take)
			return n + take, errTooLong
		}
		r.raw = append(r.raw, chunk...)
		r.pend = r.pend[len(chunk):]
		n += len(chunk)
		r.offset += int64(len(chunk))
		if nl >= 0 {
			r.line++
			return n, nil
		}
	}
	r.pend = nil
	for {
		chunk, err := r.src.ReadSlice('\n')
		if len(chunk) > budget-n {
			take := budget - n
			r.raw = append(r.raw, chunk[:take]...)
			r.pend = append([]byte(nil), chunk[take:]...)
			r.offset += int64(take)
			return n + take, errTooLong
		}
		r.raw = append(r.raw, chunk...)
		n += len(chunk)
		r.offset += int64(len(chunk))
		switch {
		case err == nil:
			r.line++
			return n, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if n > 0 {
				r.line++
			}
			return n, io.EOF
		default:
			return n, err
		}
	}
}

// skipLine discards the rest of the current physical line.
func (r *CSVReader) skipLine() {
	for len(r.pend) > 0 {
		nl := bytes.IndexByte(r.pend, '\n')
		if nl >= 0 {
			r.offset += int64(nl + 1)
			r.pend = r.pend[nl+1:]
			r.line++
			return
		}
		r.offset += int64(len(r.pend))
		r.pend = nil
	}
	for {
		chunk, err := r.src.ReadSlice('\n')
		r.offset += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && err != io.EOF {
			r.err = err
		}
		r.line++
		return
	}
}
