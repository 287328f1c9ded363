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
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, c := range validityCases {
		assert.Equal(t, json.Valid([]byte(c)), Valid([]byte(c)), "%.60q", c)
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

func FuzzValid(f *testing.F) {
	for _, c := range validityCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
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
				assert.JSONEq(t, string(v), string(seen[k]), k)
			}
		}
	})
}

// FuzzWalk: on valid JSON the walkers see exactly the members and elements encoding/json
// sees.
func FuzzWalk(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c"}],"d\u0065":null,"e":"\"x\""}`))
	f.Add([]byte(`[1, "two", {"three": 3}, [4]]`))
	f.Add([]byte(`[{"a": 1, "b": [{"c": "}"}]}, {}, {"a": "x"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) == nil && obj != nil {
			seen := map[string]bool{}
			ok := ObjectEach(b, func(k, v []byte) bool {
				var key string
				require.NoError(t, json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &key))
				if utf8.Valid(k) { // invalid bytes are compared as they are
					assert.True(t, KeyIs(k, key), "KeyIs(%q, %q)", k, key)
				}
				seen[key] = true
				assert.True(t, Valid(v), "a member's value is one JSON value")
				return true
			})
			assert.True(t, ok)
			assert.Len(t, seen, len(obj))
		}
		var arr []json.RawMessage
		if json.Unmarshal(b, &arr) == nil && arr != nil {
			var got [][]byte
			assert.True(t, ArrayEach(b, func(v []byte) bool { got = append(got, v); return true }))
			require.Len(t, got, len(arr))
			for i := range arr {
				assert.JSONEq(t, string(arr[i]), string(got[i]))
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
					assert.JSONEq(t, string(v), string(members[k]), k)
				}
				clear(members)
				elems = append(elems, e)
				return true
			})
			require.Equal(t, allObjects, ok, "ObjectsEach(%q)", b)
			if ok {
				require.Len(t, elems, len(arr))
				for i := range arr {
					assert.JSONEq(t, string(arr[i]), string(elems[i]))
				}
			}
		}
	})
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
