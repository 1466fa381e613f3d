package lead

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// readAll reads every record, rendering each as "line:cell|cell" or
// "line!message" for a malformed one.
func readAll(t testing.TB, in string) []string {
	t.Helper()
	rd := NewCSVReader(strings.NewReader(in))
	var out []string
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			return out
		}
		var le *LineError
		if errors.As(err, &le) {
			out = append(out, itoa(le.Line)+"!"+le.Msg)
			continue
		}
		require.NoError(t, err)
		out = append(out, itoa(rec.Line)+":"+strings.Join(rec.Fields, "|"))
	}
}

func itoa(n int) string { return fmt.Sprintf("%03d", n) }

func TestCSVReader(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in   string
		want []string
	}{
		"Plain":           {"a,b\n1,2\n", []string{"001:a|b", "002:1|2"}},
		"NoFinalNewline":  {"a,b\n1,2", []string{"001:a|b", "002:1|2"}},
		"CRLF":            {"a,b\r\n1,2\r\n", []string{"001:a|b", "002:1|2"}},
		"BOM":             {"\xEF\xBB\xBFa,b\n1,2\n", []string{"001:a|b", "002:1|2"}},
		"Quoted":          {"a,b\n\"x, y\",\"say \"\"hi\"\"\"\n", []string{"001:a|b", `002:x, y|say "hi"`}},
		"EmptyCells":      {"a,b,c\n,,x\n", []string{"001:a|b|c", "002:||x"}},
		"TrailingEmpty":   {"a,b\n1,\n", []string{"001:a|b", "002:1|"}},
		"BlankLines":      {"a,b\n\n\r\n1,2\n\n", []string{"001:a|b", "004:1|2"}},
		"BlankRecord":     {"a,b\n , \n1,2\n", []string{"001:a|b", "003:1|2"}},
		"MultiLineCell":   {"a,b\n\"line one\r\nline two\",x\n3,4\n", []string{"001:a|b", "002:line one\nline two|x", "004:3|4"}},
		"Semicolon":       {"a;b;c\n1;2,5;3\n", []string{"001:a|b|c", "002:1|2,5|3"}},
		"Tab":             {"a\tb\n1\t2\n", []string{"001:a|b", "002:1|2"}},
		"QuotedEmpty":     {"a,b\n\"\",x\n", []string{"001:a|b", "002:|x"}},
		"QuoteAtLineEnd":  {"a\n\"x\"\n", []string{"001:a", "002:x"}},
		"NotUTF8":         {"a,b\nM\xfcller,1\n2,3\n", []string{"001:a|b", "002!line 2 is not valid UTF-8: save the file as UTF-8 (in Excel: Save As → CSV UTF-8)", "003:2|3"}},
		"BareQuote":       {"a,b\nFo\"o,1\n2,3\n", []string{"001:a|b", "002!line 2: a cell has a double quote (\") inside but does not start with one: put the whole cell in double quotes and write each quote inside it twice (\"\")", "003:2|3"}},
		"TextAfterQuote":  {"a,b\n\"x\"y,1\n2,3\n", []string{"001:a|b", "002!line 2: a quoted cell has more text after its closing quote: put the whole cell in double quotes and write each quote inside it twice (\"\")", "003:2|3"}},
		"UnclosedAtEnd":   {"a,b\n1,2\n\"open,3\n4,5\n", []string{"001:a|b", "002:1|2", "003!line 3: a quoted cell is never closed: add the missing double quote (\") at the end of the cell", "004:4|5"}},
		"UnclosedOneLine": {"a,b\n\"open,3", []string{"001:a|b", "002!line 2: a quoted cell is never closed: add the missing double quote (\") at the end of the cell"}},
		// The stray quote opens a cell that a later quote closes badly: only
		// the line it is on is lost; the rows it swallowed are read again.
		"Swallowed": {"a,b\n\"Ana,1\n2,3\n4,\"x\"y\n5,6\n", []string{"001:a|b",
			"002!line 2: a quoted cell has more text after its closing quote: put the whole cell in double quotes and write each quote inside it twice (\"\")",
			"003:2|3",
			"004!line 4: a quoted cell has more text after its closing quote: put the whole cell in double quotes and write each quote inside it twice (\"\")",
			"005:5|6"}},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, readAll(t, tc.in))
		})
	}
}

func TestCSVReader_FileErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ in, want string }{
		"UTF16LE": {"\xff\xfea\x00,\x00b\x00", "UTF-16"},
		"UTF16BE": {"\xfe\xff\x00a", "UTF-16"},
		"XLSX":    {"PK\x03\x04\x14\x00", ".xlsx"},
		"XLS":     {"\xD0\xCF\x11\xE0\xA1\xB1", ".xls"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewCSVReader(strings.NewReader(tc.in)).Read()
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			require.Contains(t, fe.Msg, tc.want)
			require.Contains(t, fe.Msg, "CSV UTF-8")
		})
	}
}

// TestCSVReader_Offsets: Line and Offset after a record say where the next
// one starts, including after a malformed multi-line record is put back.
func TestCSVReader_Offsets(t *testing.T) {
	t.Parallel()
	in := "\xEF\xBB\xBFa,b\n\"x\ny\",1\n\"bad,2\n3,4\n"
	rd := NewCSVReader(strings.NewReader(in))
	var offsets []int64
	var lines []int
	for {
		_, err := rd.Read()
		if err == io.EOF {
			break
		}
		offsets = append(offsets, rd.Offset())
		lines = append(lines, rd.Line())
	}
	require.Equal(t, []int64{7, 15, 22, 26}, offsets)
	require.Equal(t, []int{1, 3, 4, 5}, lines)
	require.Equal(t, int64(len(in)), offsets[len(offsets)-1])
}

func TestCSVReader_Limits(t *testing.T) {
	t.Parallel()
	t.Run("LongLine", func(t *testing.T) {
		in := "a,b\n" + strings.Repeat("x", MaxCSVRecordBytes+10) + ",1\n2,3\n"
		got := readAll(t, in)
		require.Len(t, got, 3)
		require.Contains(t, got[1], "002!line 2 is longer than 1 MiB")
		require.Equal(t, "003:2|3", got[2])
	})
	t.Run("RunawayQuote", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("a,b\n\"never closed,1\n")
		for b.Len() < 2*MaxCSVRecordBytes {
			b.WriteString("1234567890,abcdefghij\n")
		}
		got := readAll(t, b.String())
		require.Contains(t, got[1], "002!line 2: a quoted cell runs on for more than 1 MiB")
		require.Equal(t, "003:1234567890|abcdefghij", got[2], "reading goes on after the bad line")
		require.Equal(t, "004:1234567890|abcdefghij", got[3])
	})
	t.Run("TooManyCells", func(t *testing.T) {
		got := readAll(t, "a\n"+strings.Repeat(",", MaxCSVFields+1)+"x\ny\n")
		require.Contains(t, got[1], "has more than 2000 cells")
		require.Equal(t, "003:y", got[2])
	})
}

// TestCSVReader_BoundedMemory reads a 64 MiB file whose second line opens
// a quote that is never closed, and a file of 64 MiB without any line
// break: the heap stays a few MiB, whatever the file.
func TestCSVReader_BoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 128 MiB")
	}
	for name, gen := range map[string]func(int) []byte{
		"UnclosedQuote": func(i int) []byte {
			if i == 0 {
				return []byte("a,b\n\"x,")
			}
			return []byte("some words, and more words\n")
		},
		"NoLineBreaks": func(int) []byte { return bytes.Repeat([]byte("abcdefgh,"), 100) },
	} {
		t.Run(name, func(t *testing.T) {
			rd := NewCSVReader(&generated{gen: gen, left: 64 << 20})
			var peak uint64
			for n := 0; ; n++ {
				_, err := rd.Read()
				if err == io.EOF {
					break
				}
				var le *LineError
				if err != nil && !errors.As(err, &le) {
					require.NoError(t, err)
				}
				if n%4096 == 0 {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
			require.Less(t, peak, uint64(32<<20), "heap in use while reading")
		})
	}
}

// generated is a reader of left bytes made by gen(i) for its i-th piece.
type generated struct {
	gen  func(int) []byte
	i    int
	left int
	buf  []byte
}

func (g *generated) Read(p []byte) (int, error) {
	if len(g.buf) == 0 {
		if g.left <= 0 {
			return 0, io.EOF
		}
		g.buf = g.gen(g.i)
		g.i++
		if len(g.buf) > g.left {
			g.buf = g.buf[:g.left]
		}
		g.left -= len(g.buf)
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// FuzzReadCSV: the reader never panics, never hangs, keeps every record
// within its limits, numbers lines in order, accounts for every byte, and
// reads a well-formed UTF-8 file exactly as encoding/csv does.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\xEF\xBB\xBFa;b\r\n\"x\ny\";2\n", "a\n\"open\n", "a,\"b\"c\n", "a\nFo\"o\n",
		"\xff\xfe", "PK\x03\x04", "a\tb\n\"\"\"\"\t\n", "\n\n\r\n", ",,,\n", "a,b\n\"x\r\ny\",\"\"\n", "\"", "x\r", "a\n\"b\"\"\nc\"", "0\xdb,\xbf"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := NewCSVReader(bytes.NewReader(in))
		var records [][]string
		clean := true
		last := 0
		for i := 0; ; i++ {
			require.Less(t, i, len(in)+2, "more records than bytes: the reader does not advance")
			rec, err := rd.Read()
			if err == io.EOF {
				break
			}
			var le *LineError
			var fe *FileError
			switch {
			case errors.As(err, &fe):
				return
			case errors.As(err, &le):
				clean = false
				require.Greater(t, le.Line, last)
				last = le.Line
				continue
			}
			require.NoError(t, err)
			require.Greater(t, rec.Line, last)
			last = rec.Line
			require.LessOrEqual(t, len(rec.Fields), MaxCSVFields)
			size := 0
			for _, c := range rec.Fields {
				size += len(c)
				require.True(t, utf8.ValidString(c))
			}
			require.LessOrEqual(t, size, MaxCSVRecordBytes)
			records = append(records, rec.Fields)
		}
		require.Equal(t, int64(len(in)), rd.Offset(), "every byte is consumed")
		// A file encoding/csv reads without complaint, we read the same way
		// (it keeps blank records and lone carriage returns, which we do not
		// compare).
		if !clean || !utf8.Valid(in) || bytes.HasPrefix(in, []byte("\xEF\xBB\xBF")) || bytes.ContainsRune(in, '\r') {
			return
		}
		std := csv.NewReader(bytes.NewReader(in))
		std.Comma = rune(rd.Comma())
		std.FieldsPerRecord = -1
		want, err := std.ReadAll()
		if err != nil {
			return
		}
		var nonBlank [][]string
		for _, r := range want {
			if strings.TrimSpace(strings.Join(r, "")) != "" {
				nonBlank = append(nonBlank, r)
			}
		}
		if len(records) == 0 && len(nonBlank) == 0 {
			return
		}
		require.Equal(t, nonBlank, records)
	})
}
