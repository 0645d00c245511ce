package dns

import (
	"encoding/binary"
	"fmt"
)

const headerSize = 12

// checkQuery looks over a message as it comes off the wire, before the
// library decodes it, and says what is wrong with it ("" if nothing is
// visibly wrong). It only walks the structure (header, names, record
// lengths) without allocating, so that garbage is reported with its sender
// and dropped; the library still decodes what passes and may reject it.
func checkQuery(m []byte) string {
	if len(m) < headerSize {
		return fmt.Sprintf("%d bytes: shorter than the 12-byte DNS header", len(m))
	}
	if m[2]&0x80 != 0 {
		return "the QR bit is set: this is a response, not a query"
	}
	counts := [4]int{
		int(binary.BigEndian.Uint16(m[4:])),
		int(binary.BigEndian.Uint16(m[6:])),
		int(binary.BigEndian.Uint16(m[8:])),
		int(binary.BigEndian.Uint16(m[10:])),
	}
	off := headerSize
	for i := 0; i < counts[0]; i++ {
		var ok bool
		if off, ok = skipName(m, off); !ok || off+4 > len(m) {
			return fmt.Sprintf("question %d of %d runs past the end of the %d-byte message", i+1, counts[0], len(m))
		}
		off += 4
	}
	total := counts[1] + counts[2] + counts[3]
	for i := 0; i < total; i++ {
		var ok bool
		if off, ok = skipName(m, off); !ok || off+10 > len(m) {
			return fmt.Sprintf("record %d of %d runs past the end of the %d-byte message", i+1, total, len(m))
		}
		rdlen := int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10 + rdlen
		if off > len(m) {
			return fmt.Sprintf("record %d of %d runs past the end of the %d-byte message", i+1, total, len(m))
		}
	}
	return ""
}

// skipName steps over a domain name at off: labels up to the root label or
// a compression pointer. It does not follow pointers (the decoder checks
// where they lead).
func skipName(m []byte, off int) (int, bool) {
	for {
		if off >= len(m) {
			return off, false
		}
		c := int(m[off])
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				return off + 1, true
			}
			off += 1 + c
		case 0xC0:
			if off+2 > len(m) {
				return off, false
			}
			return off + 2, true
		default: // 0x40 and 0x80: extended label types, unused (RFC 6891 §5)
			return off, false
		}
	}
}
