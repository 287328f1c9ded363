// Package jsonscan validates JSON and walks it without decoding it: what the handler needs
// to relay Flowglad's bodies byte for byte and to read the few fields an action checks,
// at a fraction of encoding/json's cost. Valid and the walkers allocate nothing; String
// allocates the string it returns, and unescaping an escaped key or string allocates.
//
// Valid accepts exactly what encoding/json.Valid accepts (a differential fuzz test holds it
// to that). The walkers (ObjectEach, ArrayEach, Get) expect JSON that Valid accepted: they
// skip values by counting brackets, so on other input they may report members wrongly, but
// never read out of bounds or panic.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit: deeper input is invalid for both.
const maxDepth = 10000

// Valid reports whether data is one JSON value, with optional surrounding whitespace.
func Valid(data []byte) bool {
	i, ok := value(data, skipSpace(data, 0), 0)
	return ok && skipSpace(data, i) == len(data)
}

// ValidObject reports whether data is one JSON object, with optional surrounding
// whitespace, calling member with the raw key (between its quotes, escapes as sent) and the
// raw value of each of its members as it checks them: a reader of one member need not walk
// the others again. Members reported before the result is known to be false are garbage.
func ValidObject(data []byte, member func(key, value []byte)) bool {
	return validObject(data, member, nil)
}

// A Visitor is told what ValidObjectVisit finds in an object while it checks it: its
// members, as ValidObject reports them, and inside the members it descends into, the
// members of the objects they hold. A reader of a few fields of a few members (an index of
// the subscriptions in a billing body, say) gets them from the one pass that checks the
// body, instead of walking those members again. Keys are raw (between their quotes,
// escapes as sent) and values raw JSON, all parts of the data. The methods are called in
// the order the data holds what they report, before the whole of it is checked: what was
// reported before ValidObjectVisit returns false is garbage.
type Visitor interface {
	// Descend is called with the key of each top-level member before its value is
	// checked; true asks for the fields of the objects in that value and its elements.
	Descend(key []byte) bool
	// Field is called with the key and value of each member of an object that a
	// descended member holds: its value when that is an object, each element of it that
	// is an object when it is an array (not deeper).
	Field(key, value []byte)
	// Element is called with each element of a descended member's array, after the
	// fields of that element.
	Element(elem []byte)
	// Member is called with the key and value of each top-level member, once its value
	// is checked (and its fields and elements reported).
	Member(key, value []byte)
}

// ValidObjectVisit reports whether data is one JSON object, as ValidObject does, telling v
// what it asks for in the same pass. A nil v asks for nothing.
func ValidObjectVisit(data []byte, v Visitor) bool {
	if v == nil {
		return validObject(data, nil, nil)
	}
	return validObject(data, v.Member, v)
}

func validObject(d []byte, member func(key, value []byte), v Visitor) bool {
	i := skipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return false
	}
	i, ok := object(d, i+1, 1, member, v)
	return ok && skipSpace(d, i) == len(d)
}

// Bit tricks to test eight bytes at once (SWAR): strings, numbers and indentation make up
// most of a body.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// word returns the eight bytes of d from i (i <= len(d)) as one little-endian number. The bytes past the
// end of d read as zero: a control character, which no string, number or run of spaces
// continues through, so a scan of words stops at the end on its own.
func word(d []byte, i int) uint64 {
	if len(d)-i >= 8 {
		return binary.LittleEndian.Uint64(d[i:])
	}
	return tailWord(d, i)
}

// tailWord is word near the end, kept out of line so that word stays small.
//
//go:noinline
func tailWord(d []byte, i int) uint64 {
	var w [8]byte
	copy(w[:], d[i:])
	return binary.LittleEndian.Uint64(w[:])
}

// special marks, in the high bit of each of the eight bytes of x, the bytes that are a
// quote, a backslash or a control character: where a string may end, escape or be
// invalid. Flipping bit 1 turns the quote (0x22) into 0x20 and keeps the control
// characters below 0x20 (and the space above), so one "below 0x21" test finds both.
// Bits above the first marked byte may be wrong (borrows), so only the lowest set bit is
// exact: enough to find the first such byte, or that there is none.
func special(x uint64) uint64 {
	y := x ^ (ones * 0x02)
	z := x ^ (ones * '\\')
	return ((y-ones*0x21)&^y | (z-ones)&^z) & highs
}

// notDigit marks, in the high bit of each byte of x, the bytes that are not ASCII digits:
// below '0' (the subtraction borrows into bit 7), above '9' (the addition carries into
// it) or not ASCII. As in special, only the lowest set bit is exact.
func notDigit(x uint64) uint64 {
	return ((x - ones*'0') | (x + ones*(0x7f-'9')) | x) & highs
}

// skipSpace returns the index of the first byte at or after i that is not JSON space.
// Compact JSON costs one comparison; the loop is small enough to inline.
func skipSpace(d []byte, i int) int {
	for i < len(d) && d[i] <= ' ' {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value returns the index just past the value starting at i.
func value(d []byte, i, depth int) (int, bool) {
	if i >= len(d) {
		return i, false
	}
	switch d[i] {
	case '"':
		return str(d, i+1)
	case '{':
		return object(d, i+1, depth+1, nil, nil)
	case '[':
		return array(d, i+1, depth+1, nil)
	case 't':
		return lit4(d, i, litTrue)
	case 'n':
		return lit4(d, i, litNull)
	case 'f':
		// "alse" after the f.
		j, ok := lit4(d, i+1, litAlse)
		return j, ok
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return number(d, i)
	}
	return i, false
}

// The literals' four bytes as one little-endian number, compared in one load.
const (
	litTrue = 't' | 'r'<<8 | 'u'<<16 | 'e'<<24
	litNull = 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24
	litAlse = 'a' | 'l'<<8 | 's'<<16 | 'e'<<24
)

// lit4 returns the index past the four bytes at i when they are lit.
func lit4(d []byte, i int, lit uint32) (int, bool) {
	if len(d)-i < 4 || binary.LittleEndian.Uint32(d[i:]) != lit {
		return i, false
	}
	return i + 4, true
}

// str returns the index past the closing quote of the string whose content starts at i,
// eight bytes at a time to each special byte.
func str(d []byte, i int) (int, bool) {
	for {
		m := special(word(d, i))
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) >> 3
		if i >= len(d) { // the padding past the end: unterminated
			return len(d), false
		}
		switch d[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(d) {
				return i, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(d)-i < 6 || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default: // a control character
			return i, false
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// digits returns the index of the first byte at or after i that is not a digit, eight
// bytes at a time.
func digits(d []byte, i int) int {
	for {
		if m := notDigit(word(d, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
}

// number returns the index past the number starting at i: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func number(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	j := digits(d, i)
	if j == i { // no integer part
		return j, false
	}
	if d[i] == '0' && j > i+1 { // a leading zero
		return j, false
	}
	i = j
	if i < len(d) && d[i] == '.' {
		j = digits(d, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(d) && d[i]|0x20 == 'e' {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j = digits(d, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

// object returns the index past the object whose members start at i, calling member (when
// not nil) with each member's raw key and value, and descending where v (when not nil)
// asks to.
func object(d []byte, i, depth int, member func(key, value []byte), v Visitor) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	i = skipSpace(d, i)
	if i < len(d) && d[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return i, false
		}
		key := i + 1
		var ok bool
		if i, ok = str(d, key); !ok {
			return i, false
		}
		keyEnd := i - 1
		i = skipSpace(d, i)
		if i >= len(d) || d[i] != ':' {
			return i, false
		}
		start := skipSpace(d, i+1)
		if v != nil && v.Descend(d[key:keyEnd]) {
			i, ok = into(d, start, depth, v)
		} else {
			i, ok = value(d, start, depth)
		}
		if !ok {
			return i, false
		}
		if member != nil {
			member(d[key:keyEnd], d[start:i])
		}
		i = skipSpace(d, i)
		if i < len(d) && d[i] == ',' {
			i = skipSpace(d, i+1)
			continue
		}
		if i < len(d) && d[i] == '}' {
			return i + 1, true
		}
		return i, false
	}
}

// into checks the value at i of a member v descends into: an object reports its members
// to v.Field, an array its elements (see array).
func into(d []byte, i, depth int, v Visitor) (int, bool) {
	if i < len(d) {
		switch d[i] {
		case '{':
			return object(d, i+1, depth+1, v.Field, nil)
		case '[':
			return array(d, i+1, depth+1, v)
		}
	}
	return value(d, i, depth)
}

// array returns the index past the array whose elements start at i. With v (a descended
// member's array), each element that is an object reports its members to v.Field, and
// each element is reported to v.Element.
func array(d []byte, i, depth int, v Visitor) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	i = skipSpace(d, i)
	if i < len(d) && d[i] == ']' {
		return i + 1, true
	}
	for {
		start := i
		var ok bool
		if v != nil && i < len(d) && d[i] == '{' {
			i, ok = object(d, i+1, depth+1, v.Field, nil)
		} else {
			i, ok = value(d, i, depth)
		}
		if !ok {
			return i, false
		}
		if v != nil {
			v.Element(d[start:i])
		}
		i = skipSpace(d, i)
		if i < len(d) && d[i] == ',' {
			i = skipSpace(d, i+1)
			continue
		}
		if i < len(d) && d[i] == ']' {
			return i + 1, true
		}
		return i, false
	}
}

// skip returns the index past the value starting at i, trusting it to be valid JSON (the
// walkers run on bodies Valid accepted): strings are skipped to their closing quote and
// containers by counting brackets, without checking the grammar. On malformed input it
// returns a wrong index or false, never reading out of bounds.
func skip(d []byte, i int) (int, bool) {
	if i >= len(d) {
		return i, false
	}
	switch d[i] {
	case '"':
		return skipString(d, i+1)
	case '{', '[':
	default:
		// A literal or a number: up to the next delimiter.
		j := i
		for j < len(d) {
			switch d[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j, j > i
			}
			j++
		}
		return j, true // j > i: d[i] is in bounds, so the loop ran at least once
	}
	depth := 0
	for i < len(d) {
		switch d[i] {
		case '"':
			var ok bool
			if i, ok = skipString(d, i+1); !ok {
				return i, false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
		i++
	}
	return i, false
}

// skipString returns the index past the closing quote of the string whose content starts
// at i: the first quote not escaped by an odd run of backslashes (found with
// bytes.IndexByte, which is vectorised). i <= len(d) holds on entry (i is past an opening
// quote) and on every turn (past a quote), so d[i:] is always in bounds.
func skipString(d []byte, i int) (int, bool) {
	for {
		k := bytes.IndexByte(d[i:], '"')
		if k < 0 {
			return len(d), false
		}
		j := i + k
		n := 0
		for m := j - 1; m >= i && d[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, true
		}
		i = j + 1
	}
}

// ObjectEach calls fn with the raw key (between its quotes, escapes as sent) and the raw
// value of each member of the object v, in order, until fn returns false. It reports
// false when v is not an object or is malformed.
func ObjectEach(v []byte, fn func(key, value []byte) bool) bool {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return false
	}
	_, ok, _ := objectAt(v, i, fn)
	return ok
}

// objectAt walks the object whose opening brace is v[i], calling fn with each member
// until fn returns false (stopped), and returns the index past its closing brace.
func objectAt(v []byte, i int, fn func(key, value []byte) bool) (end int, ok, stopped bool) {
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == '}' {
		return i + 1, true, false
	}
	for {
		if i >= len(v) || v[i] != '"' {
			return i, false, false
		}
		end, ok := skipString(v, i+1)
		if !ok {
			return i, false, false
		}
		key := v[i+1 : end-1]
		i = skipSpace(v, end)
		if i >= len(v) || v[i] != ':' {
			return i, false, false
		}
		start := skipSpace(v, i+1)
		if i, ok = skip(v, start); !ok {
			return i, false, false
		}
		if !fn(key, v[start:i]) {
			return i, true, true
		}
		var more bool
		if i, more, ok = next(v, i, '}'); !more {
			return i, ok, false
		}
	}
}

// ObjectsEach walks the array of objects v once: for each element it calls member with
// each of the element's members, in order, then done with the element's raw bytes; either
// returning false stops the walk. It reports false when v is not an array of objects or is
// malformed; null is an empty array. Unlike ArrayEach then ObjectEach on each element, no
// byte is walked twice.
func ObjectsEach(v []byte, member func(key, value []byte) bool, done func(elem []byte) bool) bool {
	return arrayEach(v, func(i int) (int, bool, bool) {
		if v[i] != '{' {
			return i, false, false
		}
		end, ok, stopped := objectAt(v, i, member)
		if !ok || stopped {
			return end, ok, stopped
		}
		return end, true, !done(v[i:end])
	})
}

// ArrayEach calls fn with each raw element of the array v, in order, until fn returns
// false. It reports false when v is not an array or is malformed; null is an empty array.
func ArrayEach(v []byte, fn func(elem []byte) bool) bool {
	return arrayEach(v, func(i int) (int, bool, bool) {
		end, ok := skip(v, i)
		if !ok {
			return end, false, false
		}
		return end, true, !fn(v[i:end])
	})
}

// arrayEach walks the array v, calling elem with the index of each element's first byte;
// elem returns the index past the element, whether it was well formed, and whether to stop.
func arrayEach(v []byte, elem func(i int) (end int, ok, stop bool)) bool {
	i := skipSpace(v, 0)
	if i < len(v) && v[i] == 'n' {
		_, ok := lit4(v, i, litNull)
		return ok
	}
	if i >= len(v) || v[i] != '[' {
		return false
	}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return true
	}
	for {
		if i >= len(v) {
			return false
		}
		end, ok, stop := elem(i)
		if !ok {
			return false
		}
		if stop {
			return true
		}
		var more bool
		if i, more, ok = next(v, end, ']'); !more {
			return ok
		}
	}
}

// next reads what follows a member or an element: a comma (more, at the index of the next
// one) or the container's closing bracket (done, well formed); anything else is malformed.
func next(v []byte, i int, closer byte) (j int, more, ok bool) {
	i = skipSpace(v, i)
	switch {
	case i >= len(v):
		return i, false, false
	case v[i] == ',':
		return skipSpace(v, i+1), true, true
	case v[i] == closer:
		return i + 1, false, true
	}
	return i, false, false
}

// Get returns the raw value of the member key of the object v, or nil; the last one when a
// key repeats, as encoding/json decodes. Keys with escapes are compared after unquoting.
func Get(v []byte, key string) []byte {
	var out []byte
	ObjectEach(v, func(k, val []byte) bool {
		if KeyIs(k, key) {
			out = val
		}
		return true
	})
	return out
}

// KeyIs reports whether the raw key k (as ObjectEach gives it) is name once unescaped. A
// key without escapes is compared byte for byte (invalid UTF-8 included).
func KeyIs(k []byte, name string) bool {
	if bytes.IndexByte(k, '\\') < 0 {
		return string(k) == name
	}
	// In valid UTF-8 an escape always takes more bytes than what it stands for: such a key
	// no longer than name is not name.
	if len(k) <= len(name) && utf8.Valid(k) {
		return false
	}
	var s string
	return json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &s) == nil && s == name
}

// String returns the string the raw value v holds; false when v is not a string (null
// included).
func String(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}
