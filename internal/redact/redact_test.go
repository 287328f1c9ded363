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
	assert.Contains(t, redact.Forms("a\u0080b"), `a\u0080b`, "the first rune past ASCII is escaped")
	assert.Contains(t, redact.Forms("a\uffffb"), `a\uffffb`, "the last rune of the BMP is one escape")
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
	t.Run("the longest match wins", func(t *testing.T) {
		// The fragment's first window occurs at several places of the form: the one it
		// continues from is found whether it is the next byte or further on.
		assert.Equal(t, "[REDACTED]", redact.NewSecret("aaaaaaaaab").Redact("aaaaaaaab"))
		assert.Equal(t, "[REDACTED]", redact.NewSecret("aaaaaaaaXaaaaaaaaY").Redact("aaaaaaaaY"))
	})
	t.Run("a secret of exactly FragmentLen bytes", func(t *testing.T) {
		// Its JSON form (a backslash more) holds the raw form: the escaped text is masked
		// whole, backslash included, by the same scan.
		assert.Equal(t, "x [REDACTED] y", redact.NewSecret(`"Ab3_9xQ`).Redact(`x \"Ab3_9xQ y`))
		assert.Equal(t, "x [REDACTED] y", redact.NewSecret(`"Ab3_9xQ`).Redact(`x "Ab3_9xQ y`))
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

// TestValuesWholeTokens: a value is masked where it stands alone, never inside an
// identifier, a URL's host or a word that merely contains it (issue 15 item 12).
func TestValuesWholeTokens(t *testing.T) {
	tests := []struct {
		name, text, value, want string
	}{
		// Left as is: the value is part of something else.
		{"inside an id", "GET /api/v1/customers/user_alice/billing", "Alice", "GET /api/v1/customers/user_alice/billing"},
		{"id beside the log's customer attribute", "customer=user_alice", "Alice", "customer=user_alice"},
		{"id upper case", "USER_ALICE", "alice", "USER_ALICE"},
		{"digits after", "alice42", "Alice", "alice42"},
		{"digits before", "42alice", "Alice", "42alice"},
		{"inside a word", "malice aforethought", "Alice", "malice aforethought"},
		{"a longer word", "Alicea", "Alice", "Alicea"},
		{"joined by a dot: a host", "https://alice.example.com/x", "Alice", "https://alice.example.com/x"},
		{"joined by a dot after", "org.alice", "Alice", "org.alice"},
		{"joined by a hyphen", "alice-team and team-alice", "Alice", "alice-team and team-alice"},
		{"non-ASCII letter glued", "éalice aliceé", "Alice", "éalice aliceé"},
		{"a different address", "malice@example.com", "alice@example.com", "malice@example.com"},
		{"not an escape: a non-hex URL escape", "%2Galice", "Alice", "%2Galice"},
		{"not an escape: a non-hex JSON escape", `\uZZZZalice`, "Alice", `\uZZZZalice`},
		{"not an escape: an unknown JSON escape", `\xalice`, "Alice", `\xalice`},
		{"not an escape: a letter, no backslash", `unalice`, "Alice", `unalice`},
		{"not an escape: short", `\u00alice`, "Alice", `\u00alice`},

		// Masked: the value is a token of its own.
		{"alone", "Alice", "Alice", "[REDACTED]"},
		{"other case", "ALICE", "Alice", "[REDACTED]"},
		{"quoted", `name "Alice" taken`, "Alice", `name "[REDACTED]" taken`},
		{"a path segment", "/customers/Alice/billing", "Alice", "/customers/[REDACTED]/billing"},
		{"end of a sentence", "for Alice.", "Alice", "for [REDACTED]."},
		{"a dot then a space", "Alice. Then", "Alice", "[REDACTED]. Then"},
		{"a hyphen at the end", "Alice-", "Alice", "[REDACTED]-"},
		{"a hyphen at the start", "-Alice", "Alice", "-[REDACTED]"},
		{"a dot after punctuation", "(.Alice)", "Alice", "(.[REDACTED])"},
		{"next to the id, the value alone is masked", "Alice user_alice Alice", "Alice", "[REDACTED] user_alice [REDACTED]"},
		{"after a JSON newline escape", `"x\nAlice"`, "Alice", `"x\n[REDACTED]"`},
		{"after a JSON tab escape, at the start", `\tAlice`, "Alice", `\t[REDACTED]`},
		{"after a JSON backspace escape, at the start", `\bAlice`, "Alice", `\b[REDACTED]`},
		{"after a JSON carriage return escape", `x\rAlice`, "Alice", `x\r[REDACTED]`},
		{"after a JSON unicode escape, at the start", `\u00e9Alice`, "Alice", `\u00e9[REDACTED]`},
		{"after a URL escape, at the start", "%2FAlice", "Alice", "%2F[REDACTED]"},
		{"after a URL escape, lower-case hex", "%2fAlice", "Alice", "%2f[REDACTED]"},
		{"query-escaped full name", "q=x+Alice+Example&y", "Alice Example", "q=x+[REDACTED]&y"},
		{"a value edged by punctuation", "a(Bob)b", "(Bob)", "a[REDACTED]b"},
		{"non-ASCII name, punctuated", "Zoë! user_zoë", "Zoë", "[REDACTED]! user_zoë"},
		{"an email in angle brackets", "<alice@example.com>", "alice@example.com", "<[REDACTED]>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, redact.Values(tt.text, 3, tt.value))
		})
	}
}
