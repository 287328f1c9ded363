package flowglad

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzParseBody holds parseBody, which reads a request body's members with jsonscan, to
// what json.Unmarshal into a map[string]json.RawMessage gives (what it did before): the same
// bodies refused, the same members, keys unescaped alike (escapes, invalid UTF-8, repeats);
// and str and nested read a member as json.Unmarshal reads it.
func FuzzParseBody(f *testing.F) {
	for _, seed := range []string{
		``, ` `, `{}`, ` {"id":"sub_1"} `, `{"id":"sub_1","cancellation":{"timing":"immediately"}}`,
		`{"a":1,"a":2}`, `{"a" : "x" , "b" : [1, {"c":null}] }`, `{"\u0061":"\u00e9\ud83d\ude00"}`,
		"{\"k\xff\":\"v\xfe\"}", `{"a\"b":"c\\d"}`, `{"x":{"y":"z","y":"w"}}`, `{"x":{"\u0079":1}}`,
		`null`, `[]`, `"x"`, `{"a":1}{}`, `{"a":}`, `{"a":1,}`, `{a:1}`, "{\"a\":\"\x01\"}",
		`{"id":123}`, `{"id":null}`, `{"cancellation":"x"}`, `{"s":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseBody(bytes.Clone(body))
		var want map[string]json.RawMessage
		if len(bytes.TrimSpace(body)) == 0 {
			want = map[string]json.RawMessage{}
		} else if json.Unmarshal(body, &want) != nil || want == nil {
			require.Error(t, err, "%q: json.Unmarshal refuses it", body)
			return
		}
		require.NoError(t, err, "%q: json.Unmarshal accepts it", body)
		require.Equal(t, asStrings(want), asStrings(got.m), "%q: members", body)
		for k, raw := range want {
			switch raw[0] {
			case '"':
				var s string
				require.NoError(t, json.Unmarshal(raw, &s))
				v, ok := got.str(k)
				assert.True(t, ok)
				assert.Equal(t, s, v, "%q: string %q", body, k)
			case '{':
				var m map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(raw, &m))
				n := got.nested(k, true)
				require.NotNil(t, n)
				assert.Equal(t, asStrings(m), asStrings(n.m), "%q: members of %q", body, k)
			default:
				_, ok := got.str(k)
				assert.False(t, ok, "%q: %q is not a string", body, k)
				assert.Nil(t, got.nested(k, true), "%q: %q is not an object", body, k)
			}
		}
	})
}

// asStrings makes members comparable with a readable diff.
func asStrings(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
