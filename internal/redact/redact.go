// Package redact removes a secret or personal data from text bound for an error message or a
// log line, in every form a server may echo it in: as is, escaped inside JSON, escaped in a
// URL. Flowglad (or a proxy in front of it) echoes what it was sent inside its own JSON error
// bodies, so an exact match of the plain text is not enough.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask replaces what is redacted.
const Mask = "[REDACTED]"

// FragmentLen is the length, in bytes, of the shortest piece of a secret that Secret
// redacts on its own: a key cut short by a server's truncation ("sk_test_abcdefgh…"), or the
// part of it before a cut, leaks too much to be left in place.
const FragmentLen = 8

// Forms returns the distinct ways s may appear in echoed text: as is; escaped as a JSON
// string's content, by encoding/json (HTML characters escaped), by JSON.stringify (not),
// and with every non-ASCII character escaped as \uXXXX (Python's default); escaped for a URL
// query (url.QueryEscape) and a URL path (url.PathEscape). "" gives none.
func Forms(s string) []string {
	if s == "" {
		return nil
	}
	forms := []string{s}
	add := func(f string) {
		for _, g := range forms {
			if g == f {
				return
			}
		}
		forms = append(forms, f)
	}
	add(jsonEscape(s, true))
	add(jsonEscape(s, false))
	add(asciiJSONEscape(s))
	add(url.QueryEscape(s))
	add(url.PathEscape(s))
	return forms
}

// jsonEscape returns s as encoding/json writes it inside a string, without the quotes.
func jsonEscape(s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return string(out[1 : len(out)-1])
}

// asciiJSONEscape is jsonEscape with every non-ASCII character written as \uXXXX (a UTF-16
// surrogate pair beyond the BMP).
func asciiJSONEscape(s string) string {
	var b strings.Builder
	for _, r := range jsonEscape(s, false) {
		// if-chains rather than a tagless switch here and below: gremlins cannot see which
		// case conditions the tests cover, and reports their mutants as not covered.
		if r < utf8.RuneSelf {
			b.WriteRune(r)
		} else if r > 0xFFFF {
			r -= 0x10000
			writeU(&b, 0xD800+(r>>10))
			writeU(&b, 0xDC00+(r&0x3FF))
		} else {
			writeU(&b, r)
		}
	}
	return b.String()
}

func writeU(b *strings.Builder, r rune) {
	h := strconv.FormatInt(int64(r), 16)
	b.WriteString(`\u`)
	b.WriteString(strings.Repeat("0", 4-len(h)))
	b.WriteString(h)
}

// Customer redacts a customer's email and name from s, as every log line about a customer
// must: names of fewer than three runes are left (too short to tell from ordinary words).
// Only whole values are redacted, never part of an identifier: the name "Alice" is masked
// in `name "Alice"` and in "/customers/Alice/billing", not in "user_alice".
func Customer(s, email, name string) string { return Values(s, 3, email, name) }

// Values replaces every form (see Forms) of each value in s with Mask, ignoring case (a
// server may lower-case an email it echoes). Values shorter than minLen runes after
// trimming are skipped: too short to tell from ordinary words.
//
// An occurrence is replaced only when it stands as a whole token: it is not glued to a
// letter, a digit or '_' on either side, nor to a '-' or '.' that joins it to one (as in
// "user_alice", "alice42", "org.alice" or "alice-team"). An escape sequence before it
// (\n, \u00e9, %20) ends the token before. So ids, URLs and words that merely contain a
// value are left readable, and a value alone, quoted, in a path segment or at the end of a
// sentence is masked.
func Values(s string, minLen int, values ...string) string {
	for _, v := range values {
		if utf8.RuneCountInString(strings.TrimSpace(v)) < minLen {
			continue
		}
		for _, f := range Forms(v) {
			s = replaceFold(s, f)
		}
	}
	return s
}

// replaceFold replaces every case-insensitive occurrence of f in s that stands as a whole
// token (see Values) with Mask.
func replaceFold(s, f string) string {
	var b strings.Builder
	last, found := 0, false
	for i := 0; i+len(f) <= len(s); {
		if !strings.EqualFold(s[i:i+len(f)], f) || !tokenStart(s, i, f) || !tokenEnd(s, i+len(f), f) {
			i++
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(Mask)
		i += len(f)
		last, found = i, true
	}
	if !found {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isWord reports whether r belongs to an identifier or a word.
func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isJoiner reports whether r joins two words into one identifier when it stands between
// them ("org.alice", "alice-team"); elsewhere it is punctuation.
func isJoiner(r rune) bool { return r == '-' || r == '.' }

// tokenStart reports whether f, found at s[i:], does not continue a token that begins
// before i.
func tokenStart(s string, i int, f string) bool {
	first, _ := utf8.DecodeRuneInString(f)
	if !isWord(first) {
		return true
	}
	before := s[:i]
	prev, n := utf8.DecodeLastRuneInString(before)
	if n == 0 {
		return true
	}
	if isJoiner(prev) {
		prev2, _ := utf8.DecodeLastRuneInString(before[:len(before)-n])
		return !isWord(prev2)
	}
	return !isWord(prev) || endsWithEscape(before)
}

// tokenEnd reports whether f, ending at s[:j], is not continued by the token after it.
func tokenEnd(s string, j int, f string) bool {
	last, _ := utf8.DecodeLastRuneInString(f)
	if !isWord(last) {
		return true
	}
	after := s[j:]
	next, n := utf8.DecodeRuneInString(after)
	if n == 0 {
		return true
	}
	if isJoiner(next) {
		next2, _ := utf8.DecodeRuneInString(after[n:])
		return !isWord(next2)
	}
	return !isWord(next)
}

// endsWithEscape reports whether s ends with an escape sequence whose last character is a
// letter or digit: a JSON escape (\n, \t, \u00e9) or a URL one (%20). What follows it
// starts a new token.
func endsWithEscape(s string) bool {
	n := len(s)
	if n >= 6 && s[n-6] == '\\' && s[n-5] == 'u' && isHex(s[n-4:]) {
		return true
	}
	if n >= 3 && s[n-3] == '%' && isHex(s[n-2:]) {
		return true
	}
	return n >= 2 && s[n-2] == '\\' && strings.IndexByte("bfnrt", s[n-1]) >= 0
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return false
		}
	}
	return true
}

// Secret redacts one secret, an API key: every form of it (see Forms) and every run of at
// least FragmentLen bytes of any form, wherever it starts or ends. Its methods are safe for
// concurrent use. The zero value and nil redact nothing.
type Secret struct {
	forms []string
	// grams holds every FragmentLen-byte window of every form: a window of the text found
	// here starts a fragment.
	grams map[string]struct{}
	// short are the forms shorter than FragmentLen, replaced only when whole.
	short []string
}

// NewSecret returns a Secret for secret; "" gives one that redacts nothing.
func NewSecret(secret string) *Secret {
	x := &Secret{forms: Forms(secret), grams: map[string]struct{}{}}
	for _, f := range x.forms {
		if len(f) < FragmentLen {
			x.short = append(x.short, f)
			continue
		}
		for i := 0; i+FragmentLen <= len(f); i++ {
			x.grams[f[i:i+FragmentLen]] = struct{}{}
		}
	}
	return x
}

// Redact returns s with the secret and its fragments replaced by Mask; s itself when none
// is there.
func (x *Secret) Redact(s string) string {
	if x == nil {
		return s
	}
	for _, f := range x.short {
		s = strings.ReplaceAll(s, f, Mask)
	}
	if len(x.grams) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+FragmentLen <= len(s); {
		if _, ok := x.grams[s[i:i+FragmentLen]]; !ok {
			i++
			continue
		}
		end := i + x.longest(s[i:])
		b.WriteString(s[last:i])
		b.WriteString(Mask)
		i, last = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// RedactBytes is Redact for a byte slice; b itself when nothing is redacted.
func (x *Secret) RedactBytes(b []byte) []byte {
	s := string(b)
	if r := x.Redact(s); r != s {
		return []byte(r)
	}
	return b
}

// longest returns the length of the longest prefix of s (at least FragmentLen, since its
// first window is a gram) that occurs in one of the forms.
func (x *Secret) longest(s string) int {
	best := FragmentLen
	head := s[:FragmentLen]
	for _, f := range x.forms {
		for j := strings.Index(f, head); j >= 0; {
			k := FragmentLen
			for k < len(s) && j+k < len(f) && s[k] == f[j+k] {
				k++
			}
			best = max(best, k)
			next := strings.Index(f[j+1:], head)
			if next < 0 {
				break
			}
			j += 1 + next
		}
	}
	return best
}
