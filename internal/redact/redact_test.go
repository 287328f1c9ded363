package redact_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad/internal/redact"
	"github.com/stretchr/testify/assert"
)

// key escapes differently in JSON (", \, <, &, é), in a query (space, +, /, =) and in a path.
const key = `sk_test_Ab+/c=d"e\f<g>&h i%jé9Z`

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestForms(t *testing.T) {
	forms := redact.Forms(key)
	for _, want := range []string{
		key,
		jsonString(key),
		`sk_test_Ab+/c=d\"e\\f<g>&h i%jé9Z`,
		`sk_test_Ab+/c=d\"e\\f<g>&h i%j\u00e99Z`,
		url.QueryEscape(key),
		url.PathEscape(key),
	} {
		assert.Contains(t, forms, want)
	}
	assert.Nil(t, redact.Forms(""))
	assert.Equal(t, []string{"plain_id"}, redact.Forms("plain_id"), "identical forms are listed once")
	assert.Contains(t, redact.Forms("😀"), `\ud83d\ude00`, "beyond the BMP: a surrogate pair")
}

func TestSecret(t *testing.T) {
	x := redact.NewSecret(key)
	tests := []struct {
		name, text string
	}{
		{"raw", "invalid key: " + key + " (check it)"},
		{"JSON-escaped", `{"error":"invalid key: ` + jsonString(key) + `"}`},
		{"JSON-escaped, HTML left as is", `{"error":"invalid key: sk_test_Ab+/c=d\"e\\f<g>&h i%jé9Z"}`},
		{"JSON-escaped, ASCII only", `{"error":"sk_test_Ab+/c=d\"e\\f\u003cg\u003e\u0026h i%j\u00e99Z"}`},
		{"query-escaped", "GET /x?key=" + url.QueryEscape(key) + "&a=1"},
		{"path-escaped", "GET /keys/" + url.PathEscape(key) + "/x"},
		{"prefix cut by the server", "key sk_test_Ab+/c…"},
		{"the bare prefix", "sk_test_"},
		{"escaped prefix cut inside an escape", "key " + jsonString(key)[:18]},
		{"fragment from the middle", "…c=d\"e\\f<g>&h…"},
		{"suffix", "…" + key[10:]},
		{"twice, back to back", key + key},
		{"as an Authorization header", "Authorization: Bearer " + key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := x.Redact(tt.text)
			assert.Contains(t, got, redact.Mask)
			for _, f := range redact.Forms(key) {
				for i := 0; i+redact.FragmentLen <= len(f); i++ {
					assert.NotContains(t, got, f[i:i+redact.FragmentLen], "fragment of %q left in %q", f, got)
				}
			}
			assert.Equal(t, got, string(x.RedactBytes([]byte(tt.text))))
		})
	}

	t.Run("text around is kept", func(t *testing.T) {
		assert.Equal(t, "invalid key: [REDACTED] (check it)", x.Redact("invalid key: "+key+" (check it)"))
		assert.Equal(t, `{"error":"[REDACTED]"}`, x.Redact(`{"error":"`+jsonString(key)+`"}`))
	})
	t.Run("nothing to redact", func(t *testing.T) {
		for _, s := range []string{"", "short", "sk_test", "Customer not found", strings.Repeat("x", 10000)} {
			assert.Equal(t, s, x.Redact(s))
		}
		b := []byte("unchanged body")
		assert.Same(t, &b[0], &x.RedactBytes(b)[0], "no copy when nothing is redacted")
	})
	t.Run("short secret", func(t *testing.T) {
		assert.Equal(t, "k=[REDACTED] [REDACTED]", redact.NewSecret("a\"b").Redact(`k=a"b a\"b`))
	})
	t.Run("nil and empty", func(t *testing.T) {
		var none *redact.Secret
		assert.Equal(t, key, none.Redact(key))
		assert.Equal(t, key, redact.NewSecret("").Redact(key))
	})
}

func TestValues(t *testing.T) {
	const name = `Ann "Nan" O'Brien & Co`
	const email = "Ann.OBrien+bills@Example.com"
	tests := []struct {
		name, text string
	}{
		{"raw", "customer " + name + " <" + email + ">"},
		{"JSON-escaped name", `{"error":{"message":"name ` + jsonString(name) + ` taken"}}`},
		{"JSON-escaped, HTML left as is", `{"error":"Ann \"Nan\" O'Brien & Co"}`},
		{"query-escaped email", "email=" + url.QueryEscape(email)},
		{"path-escaped email", "/customers/" + url.PathEscape(email)},
		{"lower-cased email", "email " + strings.ToLower(email) + " exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redact.Values(tt.text, 3, name, email)
			assert.Contains(t, got, redact.Mask)
			for _, v := range []string{name, email} {
				for _, f := range redact.Forms(v) {
					assert.NotContains(t, strings.ToLower(got), strings.ToLower(f))
				}
			}
		})
	}
	assert.Equal(t, "Al met Al", redact.Values("Al met Al", 3, "Al", " ", ""), "too short to redact")
	assert.Equal(t, "x [REDACTED] y", redact.Values("x Bob y", 3, "Bob"))
}

func TestCustomer(t *testing.T) {
	got := redact.Customer(`no plan for "Ada Lovelace" <ADA@example.com>; Al said hi`, "ada@example.com", "Ada Lovelace")
	assert.Equal(t, `no plan for "`+redact.Mask+`" <`+redact.Mask+`>; Al said hi`, got)
	assert.Equal(t, "Al and Bo", redact.Customer("Al and Bo", "", "Al"), "a name under three runes is left")
}
