package lead

import (
	"encoding/binary"
	"hash/maphash"
)

// KeyIndex remembers the first line of a file on which each external id
// and each email appeared, to find rows that repeat an earlier one. It is
// built for files of millions of rows: keys live back to back in 1 MiB
// pages and the table holds 4-byte references, with no pointer per key, so
// a million rows with both keys take about 60 MB and nothing for the
// garbage collector to scan. The zero value is ready to use.
type KeyIndex struct {
	seed  maphash.Seed
	pages [][]byte
	slots []uint32 // 0 = empty, else 1 + reference into pages
	n     int
}

// Key kinds of a KeyIndex.
const (
	keyExternalID byte = 'x'
	keyEmail      byte = 'e'
)

const (
	keyPageBits = 20
	keyPageSize = 1 << keyPageBits
	// An entry is the line (4 bytes), the kind, the key's length (2 bytes) and the key.
	keyEntryHead = 7
)

// Bytes is the memory the index holds.
func (x *KeyIndex) Bytes() int { return len(x.pages)*keyPageSize + 4*len(x.slots) }

// Len is the number of keys held.
func (x *KeyIndex) Len() int { return x.n }

// Lookup returns the line on which key of kind first appeared.
func (x *KeyIndex) Lookup(kind byte, key string) (int, bool) {
	if x.n == 0 {
		return 0, false
	}
	h := x.hash(kind, key)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		ref := x.slots[i]
		if ref == 0 {
			return 0, false
		}
		if line, ok := x.match(ref-1, kind, key); ok {
			return line, true
		}
	}
}

// Add records that key of kind first appeared on line. The caller checks
// with Lookup first; keys longer than 65535 bytes are not recorded.
func (x *KeyIndex) Add(kind byte, key string, line int) {
	if len(key) > 0xFFFF || len(key)+keyEntryHead > keyPageSize {
		return
	}
	if x.slots == nil {
		x.seed = maphash.MakeSeed()
		x.slots = make([]uint32, 1024)
	}
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	ref := x.store(kind, key, line)
	x.insert(x.hash(kind, key), ref)
	x.n++
}

func (x *KeyIndex) hash(kind byte, key string) uint64 {
	var h maphash.Hash
	h.SetSeed(x.seed)
	_ = h.WriteByte(kind)
	_, _ = h.WriteString(key)
	return h.Sum64()
}

func (x *KeyIndex) insert(h uint64, ref uint32) {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if x.slots[i] == 0 {
			x.slots[i] = ref + 1
			return
		}
	}
}

// store appends an entry to the pages and returns its reference.
func (x *KeyIndex) store(kind byte, key string, line int) uint32 {
	need := keyEntryHead + len(key)
	if len(x.pages) == 0 || len(x.pages[len(x.pages)-1])+need > keyPageSize {
		x.pages = append(x.pages, make([]byte, 0, keyPageSize))
	}
	p := len(x.pages) - 1
	page := x.pages[p]
	ref := uint32(p)<<keyPageBits | uint32(len(page))
	page = binary.LittleEndian.AppendUint32(page, uint32(line))
	page = append(page, kind)
	page = binary.LittleEndian.AppendUint16(page, uint16(len(key)))
	page = append(page, key...)
	x.pages[p] = page
	return ref
}

// entry decodes the entry at ref.
func (x *KeyIndex) entry(ref uint32) (line int, kind byte, key []byte) {
	page := x.pages[ref>>keyPageBits]
	off := int(ref & (keyPageSize - 1))
	line = int(binary.LittleEndian.Uint32(page[off:]))
	kind = page[off+4]
	n := int(binary.LittleEndian.Uint16(page[off+5:]))
	return line, kind, page[off+keyEntryHead : off+keyEntryHead+n]
}

func (x *KeyIndex) match(ref uint32, kind byte, key string) (int, bool) {
	line, k, stored := x.entry(ref)
	return line, k == kind && string(stored) == key
}

// grow doubles the table, rehashing every key from the pages.
func (x *KeyIndex) grow() {
	old := x.slots
	x.slots = make([]uint32, len(old)*2)
	for _, ref := range old {
		if ref == 0 {
			continue
		}
		_, kind, key := x.entry(ref - 1)
		var h maphash.Hash
		h.SetSeed(x.seed)
		_ = h.WriteByte(kind)
		_, _ = h.Write(key)
		x.insert(h.Sum64(), ref-1)
	}
}
