package jsonscan

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var validityCases = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `nul`, `truex`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `.5`,
	`"x"`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"a\/b"`, "\"tab\there\"", `"` + "\x01" + `"`, `"unterminated`, `"\`,
	`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}{}`, `[1,2,]`, `[1 2]`, `[[[]]]`, ` {"a" : [ 1 , { "b" : null } ] } `,
	"\xff", `"` + "\xff" + `"`, `{"a":"\ud800"}`, `[` + strings.Repeat("[", 10001) + strings.Repeat("]", 10002),
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	// Objects count toward the nesting limit as arrays do, alone and mixed with arrays.
	strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat("}", 10001),
	strings.Repeat(`{"a":[`, 5000) + `1` + strings.Repeat("]}", 5000),
	strings.Repeat(`[{"a":`, 5000) + `[]` + strings.Repeat("}]", 5000),
	strings.Repeat(`[{"a":`, 5000) + `{}` + strings.Repeat("}]", 5000),
	// Arrays under a top-level member (ValidObjectVisit descends into it), at the limit and past it.
	`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	`{"a":[` + strings.Repeat(`{"b":`, 9998) + `1` + strings.Repeat("}", 9998) + `]}`,
	`{"a":[` + strings.Repeat(`{"b":`, 9999) + `1` + strings.Repeat("}", 9999) + `]}`,
	// Literals cut short inside a container, where bytes are left before them.
	`[nul`, `[tru`, `{"a":fals`, `[nulx]`, `[true,fals]`, `[null]`, `{"a":true,"b":false}`,
	// Exponents with and without a sign, and numbers missing a part.
	`1e7`, `1e+5`, `1E5`, `-1e-5`, `0e0`, `1e+-5`, `1ee5`, `2.`, `-01`, `-a`, `1.0e+10`, `[1e+]`, `[-]`,
	// Hex digits at the ends of their ranges, and escapes cut short.
	`"\uaAfF"`, `"\u0aF0"`, `"\uFfa9"`, `"\u00`, `["\u004`, `{"k":"\u`, `"\`, `"\\"`, `""`, `"a\\"`,
	// Containers cut short after each kind of token.
	`{`, `{ `, `[`, `[ `, `{"a"`, `{"a" `, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1, `, `[1,`, `[1`, `[{}`, `[{},`,
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, c := range validityCases {
		assert.Equal(t, json.Valid([]byte(c)), Valid([]byte(c)), "%.60q", c)
		checkValid(t, []byte(c))
		checkWalk(t, []byte(c))
	}
	body, err := os.ReadFile("../../flowgladapi/testdata/billing.json")
	require.NoError(t, err)
	assert.True(t, Valid(body))

	// Strings are scanned eight bytes at a time: every special byte at every offset of a
	// word, alone and followed by another, in strings that end anywhere.
	specials := []string{`"`, `\`, `\"`, `\u0041`, `\u00`, `\x`, "\n", "\x1f", "\x00", "\x7f", "é", "\xff", ` `}
	for before := range 17 {
		for after := range 10 {
			for _, x := range specials {
				for _, y := range []string{"", `"`, "\t", `\\`} {
					c := `"` + strings.Repeat("a", before) + x + strings.Repeat("b", after) + y + `"`
					assert.Equal(t, json.Valid([]byte(c)), Valid([]byte(c)), "%q", c)
					c = `{"k":` + c + `}`
					assert.Equal(t, json.Valid([]byte(c)), Valid([]byte(c)), "%q", c)
				}
			}
		}
	}
}

// TestValidWordBoundaries: numbers, literals and runs of spaces are scanned eight bytes at
// a time: every length across two words, ended by every kind of byte or by the end of the
// input, alone and inside containers.
func TestValidWordBoundaries(t *testing.T) {
	ends := []string{"", " ", ",", "]", "}", ".", ".5", "e", "e7", "E+2", "-", "+", "x", "/", ":", "\x00", "\x7f", "\xff", "0", "9", " 1", "\n\t\r 2"}
	check := func(c string) {
		t.Helper()
		for _, doc := range []string{c, "[" + c + "]", "[" + c + ",0]", `{"k":` + c + `}`} {
			assert.Equal(t, json.Valid([]byte(doc)), Valid([]byte(doc)), "%q", doc)
		}
		checkValid(t, []byte(`{"k":[`+c+`],"l":`+c+`}`))
	}
	for _, lead := range []string{"", "  "} {
		for n := range 18 {
			for _, first := range []string{"", "1", "-", "-1", "0", "-0", "9"} {
				for _, end := range ends {
					check(lead + first + strings.Repeat("7", n) + end)
					check(lead + "1." + strings.Repeat("3", n) + end)
					check(lead + "1e" + strings.Repeat("3", n) + end)
				}
			}
		}
		for _, lit := range []string{"true", "false", "null", "tru", "fals", "nul", "trUe", "falsE", "nulL", "ttrue", "nulll", "t", "f", "n"} {
			for _, end := range ends {
				check(lead + lit + end)
				check(lead + strings.Repeat(" ", 9) + lit + lead + end)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range validityCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkValid)
}

// checkValid holds Valid and ValidObject to encoding/json on b: the same verdict, and on an
// object exactly its members.
func checkValid(t *testing.T, b []byte) {
	t.Helper()
	want := json.Valid(b)
	if got := Valid(b); got != want {
		t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
	}
	// ValidObject: the same verdict on objects, and exactly their members.
	var obj map[string]json.RawMessage
	isObject := want && json.Unmarshal(b, &obj) == nil && obj != nil
	seen := map[string]json.RawMessage{}
	ok := ValidObject(b, func(k, v []byte) {
		var key string
		require.NoError(t, json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &key))
		seen[key] = v // the last one wins, as in encoding/json
	})
	require.Equal(t, isObject, ok, "ValidObject(%q)", b)
	if ok {
		require.Len(t, seen, len(obj))
		for k, v := range obj {
			assert.Equal(t, string(v), string(seen[k]), k)
		}
	}
	checkVisit(t, b, isObject, obj)
}

// funcVisitor is a Visitor made of funcs, any of them nil.
type funcVisitor struct {
	OnDescend func(key []byte) bool
	OnField   func(key, value []byte)
	OnElement func(elem []byte)
	OnMember  func(key, value []byte)
}

func (f *funcVisitor) Descend(k []byte) bool { return f.OnDescend != nil && f.OnDescend(k) }

func (f *funcVisitor) Field(k, v []byte) {
	if f.OnField != nil {
		f.OnField(k, v)
	}
}

func (f *funcVisitor) Element(e []byte) {
	if f.OnElement != nil {
		f.OnElement(e)
	}
}

func (f *funcVisitor) Member(k, v []byte) {
	if f.OnMember != nil {
		f.OnMember(k, v)
	}
}

// visited is what ValidObjectVisit reported of one top-level member it descended into.
type visited struct {
	fields   []map[string]string // per object: its members (the last of a repeated key)
	elements []string
}

// checkVisit holds ValidObjectVisit, descending into every member, to encoding/json on b:
// the same verdict as ValidObject, and for each member the fields of the objects it is or
// holds and the elements of its array. A member seen twice counts as its last occurrence,
// as encoding/json decodes it.
func checkVisit(t *testing.T, b []byte, isObject bool, obj map[string]json.RawMessage) {
	t.Helper()
	got := map[string]*visited{}
	var cur *visited
	fields := map[string]string{}
	members := map[string]string{}
	unquote := func(k []byte) string {
		var key string
		require.NoError(t, json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &key))
		return key
	}
	ok := ValidObjectVisit(b, &funcVisitor{
		OnDescend: func(k []byte) bool {
			cur = &visited{}
			got[unquote(k)] = cur
			return true
		},
		OnField: func(k, v []byte) { fields[unquote(k)] = string(v) },
		OnElement: func(e []byte) {
			cur.elements = append(cur.elements, string(e))
			if e[0] == '{' {
				cur.fields = append(cur.fields, fields)
			} else {
				require.Empty(t, fields, "fields of an element that is not an object")
			}
			fields = map[string]string{}
		},
		OnMember: func(k, v []byte) {
			members[unquote(k)] = string(v)
			if v[0] == '{' {
				cur.fields = append(cur.fields, fields)
			}
			fields = map[string]string{}
		},
	})
	require.Equal(t, isObject, ok, "ValidObjectVisit(%q)", b)
	require.Equal(t, isObject, ValidObjectVisit(b, nil), "ValidObjectVisit(%q, nil)", b)
	if !ok {
		return
	}
	require.Len(t, members, len(obj))
	for k, raw := range obj {
		assert.Equal(t, string(raw), members[k], k)
		want := &visited{}
		var a []json.RawMessage
		switch {
		case raw[0] == '{':
			var o map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &o))
			want.fields = append(want.fields, rawStrings(o))
		case raw[0] == '[':
			require.NoError(t, json.Unmarshal(raw, &a))
			for _, e := range a {
				want.elements = append(want.elements, string(e))
				if e[0] == '{' {
					var o map[string]json.RawMessage
					require.NoError(t, json.Unmarshal(e, &o))
					want.fields = append(want.fields, rawStrings(o))
				}
			}
		}
		assert.Equal(t, want, got[k], "visit of %q in %q", k, b)
	}
}

func rawStrings(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// FuzzWalk: on valid JSON the walkers see exactly the members and elements encoding/json
// sees.
func FuzzWalk(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c"}],"d\u0065":null,"e":"\"x\""}`))
	f.Add([]byte(`[1, "two", {"three": 3}, [4]]`))
	f.Add([]byte(`[{"a": 1, "b": [{"c": "}"}]}, {}, {"a": "x"}]`))
	f.Fuzz(checkWalk)
}

// checkWalk: on valid JSON b the walkers see exactly the members and elements encoding/json
// sees.
func checkWalk(t *testing.T, b []byte) {
	t.Helper()
	if !json.Valid(b) {
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) == nil && obj != nil {
		seen := map[string][]byte{}
		ok := ObjectEach(b, func(k, v []byte) bool {
			var key string
			require.NoError(t, json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &key))
			if utf8.Valid(k) { // invalid bytes are compared as they are
				assert.True(t, KeyIs(k, key), "KeyIs(%q, %q)", k, key)
			}
			seen[key] = v // the last one wins, as in encoding/json
			assert.True(t, Valid(v), "a member's value is one JSON value")
			return true
		})
		assert.True(t, ok)
		require.Len(t, seen, len(obj))
		for k, v := range obj {
			assert.Equal(t, string(v), string(seen[k]), k)
			if utf8.Valid(b) { // Get compares an unescaped key byte for byte
				assert.Equal(t, string(seen[k]), string(Get(b, k)), "Get(%q)", k)
			}
		}
	}
	var arr []json.RawMessage
	if json.Unmarshal(b, &arr) == nil && arr != nil {
		var got [][]byte
		assert.True(t, ArrayEach(b, func(v []byte) bool { got = append(got, v); return true }))
		require.Len(t, got, len(arr))
		for i := range arr {
			assert.Equal(t, string(arr[i]), string(got[i]))
		}
		// ObjectsEach: the same elements when all are objects, with their members.
		var objs []map[string]json.RawMessage
		allObjects := json.Unmarshal(b, &objs) == nil
		for _, o := range objs {
			allObjects = allObjects && o != nil
		}
		var elems [][]byte
		members := map[string]json.RawMessage{}
		ok := ObjectsEach(b, func(k, v []byte) bool {
			var key string
			require.NoError(t, json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &key))
			members[key] = v
			return true
		}, func(e []byte) bool {
			var want map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(e, &want))
			require.Len(t, members, len(want))
			for k, v := range want {
				assert.Equal(t, string(v), string(members[k]), k)
			}
			clear(members)
			elems = append(elems, e)
			return true
		})
		require.Equal(t, allObjects, ok, "ObjectsEach(%q)", b)
		if ok {
			require.Len(t, elems, len(arr))
			for i := range arr {
				assert.Equal(t, string(arr[i]), string(elems[i]))
			}
		}
	}
}

func TestKeyIs(t *testing.T) {
	for _, c := range []struct {
		raw, name string
		want      bool
	}{
		{`id`, "id", true}, {`i\u0064`, "id", true}, {`\u0069d`, "id", true}, {`idx`, "id", false},
		{`i`, "id", false}, {``, "", true}, {`\"`, `"`, true}, {`a\\b`, `a\b`, true}, {`\n`, "\n", true},
		{`\u00e9`, "é", true}, {`é`, "é", true}, {`\u00e9`, "e", false}, {`\ud83d\ude00`, "😀", true},
		{`\n`, `\n`, false}, {"\xff\\n", "\uFFFD\n", true}, {"\xff\\u000a", "\uFFFD\n", true},
	} {
		assert.Equal(t, c.want, KeyIs([]byte(c.raw), c.name), "KeyIs(%q, %q)", c.raw, c.name)
	}
}

func TestWalkers(t *testing.T) {
	doc := []byte(` {"customer": {"id": "cus_1", "n\u0061me": "A \"B\""}, "subs": [{"id": "s1", "n": 2.5}, {"id": "s2", "ok": true}], "none": null} `)
	cust := Get(doc, "customer")
	id, ok := String(Get(cust, "id"))
	assert.True(t, ok)
	assert.Equal(t, "cus_1", id)
	name, ok := String(Get(cust, "name"))
	assert.True(t, ok, "an escaped key matches")
	assert.Equal(t, `A "B"`, name)
	var ids []string
	assert.True(t, ArrayEach(Get(doc, "subs"), func(e []byte) bool {
		s, _ := String(Get(e, "id"))
		ids = append(ids, s)
		return true
	}))
	assert.Equal(t, []string{"s1", "s2"}, ids)
	var first []byte
	ArrayEach(Get(doc, "subs"), func(e []byte) bool { first = e; return false })
	assert.Equal(t, "2.5", string(Get(first, "n")), "a number member, raw")
	assert.True(t, ArrayEach(Get(doc, "none"), func([]byte) bool { t.Fatal("null has no elements"); return false }))
	assert.Nil(t, Get(doc, "missing"))
	assert.Equal(t, "2", string(Get([]byte(`{"a": 1, "a": 2}`), "a")), "the last of repeated keys, as encoding/json")
	_, ok = String(Get(doc, "none"))
	assert.False(t, ok, "null is not a string")
	assert.False(t, ObjectEach([]byte(`[1]`), func(_, _ []byte) bool { return true }))
	assert.False(t, ArrayEach([]byte(`{"a":1}`), func([]byte) bool { return true }))
	assert.False(t, ObjectEach([]byte(`{"a":}`), func(_, _ []byte) bool { return true }))
}

func BenchmarkValid(b *testing.B) {
	body, err := os.ReadFile("../../flowgladapi/testdata/billing.json")
	require.NoError(b, err)
	b.Run("jsonscan", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkWalk: skipping every member of a compact billing body, beside validating it.
func BenchmarkWalk(b *testing.B) {
	pretty, err := os.ReadFile("../../flowgladapi/testdata/billing.json")
	require.NoError(b, err)
	var buf bytes.Buffer
	require.NoError(b, json.Compact(&buf, pretty))
	body := buf.Bytes()
	b.Run("ObjectEach", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !ObjectEach(body, func(_, _ []byte) bool { return true }) {
				b.Fatal("malformed")
			}
		}
	})
	b.Run("Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}

// FuzzWalkAnything: on any input at all, the walkers neither panic nor loop forever.
func FuzzWalkAnything(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c"}],"d":nul`))
	f.Add([]byte(`[{"a":"\"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ObjectEach(b, func(k, v []byte) bool { _, _ = String(v); return true })
		ArrayEach(b, func(v []byte) bool { _ = Get(v, "a"); return true })
		ObjectsEach(b, func(k, v []byte) bool { return true }, func([]byte) bool { return true })
	})
}

// TestValidShortInputs holds Valid, ValidObject and the walkers to encoding/json on every
// short input over small alphabets: every number shape up to five bytes, every arrangement
// of the structural tokens up to four, and every byte as each digit of a \u escape.
func TestValidShortInputs(t *testing.T) {
	for _, c := range []struct {
		name     string
		alphabet string
		maxLen   int
	}{
		{"numbers", "019-+.eE", 5},
		{"structure", `{}[]":,1n\ `, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := make([]byte, 0, c.maxLen)
			var gen func()
			gen = func() {
				checkValid(t, b)
				checkWalk(t, b)
				walkAnything(b)
				if len(b) == c.maxLen {
					return
				}
				for i := range len(c.alphabet) {
					b = append(b, c.alphabet[i])
					gen()
					b = b[:len(b)-1]
				}
			}
			gen()
		})
	}
	t.Run("hex digits", func(t *testing.T) {
		for pos := range 4 {
			for c := range 256 {
				hex := []byte("0000")
				hex[pos] = byte(c)
				b := []byte(`["\u` + string(hex) + `"]`)
				assert.Equal(t, json.Valid(b), Valid(b), "%q", b)
			}
		}
	})
}

// walkAnything runs every walker on b, which may be anything: they must not panic.
func walkAnything(b []byte) {
	ObjectEach(b, func(_, v []byte) bool { _, _ = String(v); return true })
	ArrayEach(b, func(v []byte) bool { _ = Get(v, "a"); return true })
	ObjectsEach(b, func(_, _ []byte) bool { return true }, func([]byte) bool { return true })
}

// TestTruncatedAtEveryByte: a body cut short anywhere (a dropped connection, a proxy's size
// limit) is never valid and never walks as well formed, and nothing reads past its end.
func TestTruncatedAtEveryByte(t *testing.T) {
	for _, doc := range []string{
		` {"a": [1, -2.5e+3, 0.5E-7, 10, true, false, null, "x\"y\\", "\u00e9\uD83D\uDE00", "\/"],` +
			` "b": {"c": {}, "d": [], "e": [[]], "f": {"g": {"h": null}}}, "i\\": "\\", "j\n": "",` +
			` "k" : [{"l": 0}, {}, {"m": "}]"}] , "n":"0123456789abcdef\t\u0041"}`,
		`[{"id": "s1", "n": [1, {"x": "]"}]}, {}, {"k": "\\\"}"}, {"a": {"b": [true]}}]`,
		`[1, "two", [3, [4]], {"five": 5}, null, true, false, -0.5E-7, "\\", []]`,
		`[[],{},"",0]`,
	} {
		body := []byte(doc)
		require.True(t, json.Valid(body), doc)
		require.Contains(t, "}]", doc[len(doc)-1:], "the last byte closes the body")
		checkValid(t, body)
		checkWalk(t, body)
		for n := range len(body) {
			p := body[:n]
			require.False(t, json.Valid(p), "%q", p)
			assert.False(t, Valid(p), "Valid(%q)", p)
			assert.False(t, ValidObject(p, func(_, _ []byte) {}), "ValidObject(%q)", p)
			assert.False(t, ValidObjectVisit(p, &funcVisitor{OnDescend: func([]byte) bool { return true }}), "ValidObjectVisit(%q)", p)
			assert.False(t, ObjectEach(p, func(_, _ []byte) bool { return true }), "ObjectEach(%q)", p)
			assert.False(t, ArrayEach(p, func([]byte) bool { return true }), "ArrayEach(%q)", p)
			assert.False(t, ObjectsEach(p, func(_, _ []byte) bool { return true }, func([]byte) bool { return true }), "ObjectsEach(%q)", p)
			walkAnything(p)
		}
	}
}

// TestObjectEachMembers: the raw keys and values ObjectEach reports, in order, where a
// string's closing quote follows backslashes (escaped or not) or brackets.
func TestObjectEachMembers(t *testing.T) {
	for _, c := range []struct {
		doc     string
		members []string // key, value, key, value...
		ok      bool
	}{
		{`{}`, nil, true},
		{` { } `, nil, true},
		{`{"a":"b\\","c":1}`, []string{`a`, `"b\\"`, `c`, `1`}, true},
		{`{"a\\":"\\\\","b":"\"}"}`, []string{`a\\`, `"\\\\"`, `b`, `"\"}"`}, true},
		{`{"a":"\\\"","b":"\\\\\\"}`, []string{`a`, `"\\\""`, `b`, `"\\\\\\"`}, true},
		{` {"k" : [1, {"x": "]"}] , "l":null} `, []string{`k`, `[1, {"x": "]"}]`, `l`, `null`}, true},
		{`{"n":-1.5e+3,"t":true,"f":false}`, []string{`n`, `-1.5e+3`, `t`, `true`, `f`, `false`}, true},
		{`{"a":{"b":{"c":[]}},"d":"}"}`, []string{`a`, `{"b":{"c":[]}}`, `d`, `"}"`}, true},
		{`[]`, nil, false},
		{``, nil, false},
		{`  `, nil, false},
		{`null`, nil, false},
	} {
		var got []string
		ok := ObjectEach([]byte(c.doc), func(k, v []byte) bool {
			got = append(got, string(k), string(v))
			return true
		})
		assert.Equal(t, c.ok, ok, "ObjectEach(%q)", c.doc)
		assert.Equal(t, c.members, got, "ObjectEach(%q)", c.doc)
	}
	// Stopping early is a success: the member was found.
	var keys []string
	assert.True(t, ObjectEach([]byte(`{"a":1,"b":2,"c":3}`), func(k, _ []byte) bool {
		keys = append(keys, string(k))
		return string(k) != "b"
	}))
	assert.Equal(t, []string{"a", "b"}, keys)
}

// TestArrayEachElements: the raw elements ArrayEach and ObjectsEach report; null is an
// empty array, an empty array has no elements.
func TestArrayEachElements(t *testing.T) {
	for _, c := range []struct {
		doc   string
		elems []string
		ok    bool
	}{
		{`[]`, nil, true},
		{` [ ] `, nil, true},
		{`null`, nil, true},
		{` null `, nil, true},
		{`nul`, nil, false},
		{`[1,"a\\",[2,[3]],{"b":"]"},true,null,-0.5e-3]`, []string{`1`, `"a\\"`, `[2,[3]]`, `{"b":"]"}`, `true`, `null`, `-0.5e-3`}, true},
		{`[ "\"" , "\\" ]`, []string{`"\""`, `"\\"`}, true},
		{`{}`, nil, false},
		{``, nil, false},
		{` `, nil, false},
	} {
		var got []string
		ok := ArrayEach([]byte(c.doc), func(e []byte) bool { got = append(got, string(e)); return true })
		assert.Equal(t, c.ok, ok, "ArrayEach(%q)", c.doc)
		assert.Equal(t, c.elems, got, "ArrayEach(%q)", c.doc)
	}
	for _, c := range []struct {
		doc   string
		elems []string
		ok    bool
	}{
		{`[]`, nil, true},
		{` [ ] `, nil, true},
		{`null`, nil, true},
		{`[{},{"a":1}]`, []string{`{}`, `{"a":1}`}, true},
		{`[ {"a":"\\"} , {"b":"}"} ]`, []string{`{"a":"\\"}`, `{"b":"}"}`}, true},
		{`[{},1]`, []string{`{}`}, false},
		{`[1]`, nil, false},
		{`{}`, nil, false},
	} {
		var got []string
		ok := ObjectsEach([]byte(c.doc), func(_, _ []byte) bool { return true }, func(e []byte) bool {
			got = append(got, string(e))
			return true
		})
		assert.Equal(t, c.ok, ok, "ObjectsEach(%q)", c.doc)
		assert.Equal(t, c.elems, got, "ObjectsEach(%q)", c.doc)
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		ok        bool
	}{
		{`""`, "", true},
		{`"x"`, "x", true},
		{`"\\"`, `\`, true},
		{`"\\\\"`, `\\`, true},
		{`"a\\"`, `a\`, true},
		{`"\"\\"`, `"\`, true},
		{`"\u00e9\n"`, "é\n", true},
		{`"é"`, "é", true},
		{`null`, "", false},
		{`1`, "", false},
		{`"`, "", false},
		{``, "", false},
		{`"\x"`, "", false},
	} {
		got, ok := String([]byte(c.raw))
		assert.Equal(t, c.ok, ok, "String(%q)", c.raw)
		assert.Equal(t, c.want, got, "String(%q)", c.raw)
	}
}

// TestValidObjectVisitIndex reads what the billing index needs in the pass that checks the
// body: only the members it descends into report fields and elements, an object member's
// own fields, and nothing deeper than an array's objects.
func TestValidObjectVisitIndex(t *testing.T) {
	doc := []byte(` {"customer": {"id": "cus_1", "name": {"id": "not this"}}, "catalog": {"id": "x", "subs": [{"id": "no"}]},` +
		` "subs": [{"id": "s1", "items": [{"id": "deep"}], "status": "active"}, 7, {"id": "s2"}], "primary": null} `)
	var log []string
	var path string
	ok := ValidObjectVisit(doc, &funcVisitor{
		OnDescend: func(k []byte) bool {
			path = string(k)
			return path == "customer" || path == "subs" || path == "primary"
		},
		OnField:   func(k, v []byte) { log = append(log, path+"."+string(k)+"="+string(v)) },
		OnElement: func(e []byte) { log = append(log, path+"[]="+string(e)) },
		OnMember:  func(k, v []byte) { log = append(log, string(k)+"="+string(v)) },
	})
	require.True(t, ok)
	assert.Equal(t, []string{
		`customer.id="cus_1"`, `customer.name={"id": "not this"}`, `customer={"id": "cus_1", "name": {"id": "not this"}}`,
		`catalog={"id": "x", "subs": [{"id": "no"}]}`,
		`subs.id="s1"`, `subs.items=[{"id": "deep"}]`, `subs.status="active"`, `subs[]={"id": "s1", "items": [{"id": "deep"}], "status": "active"}`,
		`subs[]=7`, `subs.id="s2"`, `subs[]={"id": "s2"}`,
		`subs=[{"id": "s1", "items": [{"id": "deep"}], "status": "active"}, 7, {"id": "s2"}]`,
		`primary=null`,
	}, log)

	// Every func may be nil; the verdict is ValidObject's.
	for _, c := range []string{`{"a":[{"b":1}]}`, `{"a":{"b":[1,]}}`, `{"a":[{"b":}]}`, `[{"a":1}]`, `{"a":[{"b":1}]`} {
		want := ValidObject([]byte(c), nil)
		assert.Equal(t, want, ValidObjectVisit([]byte(c), &funcVisitor{OnDescend: func([]byte) bool { return true }}), c)
		assert.Equal(t, want, ValidObjectVisit([]byte(c), &funcVisitor{}), c)
		assert.Equal(t, want, ValidObjectVisit([]byte(c), nil), c)
	}
}

// BenchmarkVisit: checking a compact billing body while indexing its subscriptions and
// customer (what the billing index reads), beside checking it with ValidObject alone and
// then walking those members again (what it replaces).
func BenchmarkVisit(b *testing.B) {
	pretty, err := os.ReadFile("../../flowgladapi/testdata/billing.json")
	require.NoError(b, err)
	var buf bytes.Buffer
	require.NoError(b, json.Compact(&buf, pretty))
	body := buf.Bytes()
	index := []string{"customer", "subscriptions", "currentSubscriptions", "currentSubscription"}
	isIndexed := func(k []byte) bool {
		for _, name := range index {
			if KeyIs(k, name) {
				return true
			}
		}
		return false
	}
	var ids int
	b.Run("one pass", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		v := &funcVisitor{
			OnDescend: isIndexed,
			OnField: func(k, _ []byte) {
				if KeyIs(k, "id") {
					ids++
				}
			},
		}
		for b.Loop() {
			if !ValidObjectVisit(body, v) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("two passes", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		var members [][2][]byte
		for b.Loop() {
			members = members[:0]
			if !ValidObject(body, func(k, v []byte) { members = append(members, [2][]byte{k, v}) }) {
				b.Fatal("invalid")
			}
			for _, m := range members {
				if !isIndexed(m[0]) {
					continue
				}
				count := func(k, _ []byte) bool {
					if KeyIs(k, "id") {
						ids++
					}
					return true
				}
				if m[1][0] == '[' {
					ObjectsEach(m[1], count, func([]byte) bool { return true })
				} else {
					ObjectEach(m[1], count)
				}
			}
		}
	})
}
