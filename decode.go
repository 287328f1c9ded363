package flowglad

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER: Flowglad's integers are int53.
const maxSafeInteger = 1<<53 - 1

// maxInt32 bounds the few quantities Flowglad stores as 32-bit integers.
const maxInt32 = 1<<31 - 1

// fields reads a JSON object member by member and records every problem it finds, so that a
// request learns all of them at once and no Flowglad call is made for a body with any.
type fields struct {
	m      map[string]json.RawMessage
	prefix string
	issues *issueList
}

// parseBody decodes a request body that must be a JSON object. An empty body means {} (the
// React SDK sends none for resources/usages).
//
// The members are what json.Unmarshal into a map[string]json.RawMessage gives (the same
// bodies refused, keys unescaped as it does, the last of a repeated key kept), read by
// jsonscan in the pass that checks the body: a third of the time, and a few allocations
// where encoding/json's reflection made a dozen (FuzzParseBody holds the two to the same
// answers). The values are parts of body, which the handler reads into a buffer of the
// request's own and never modifies.
func parseBody(body []byte) (*fields, error) {
	f := &fields{issues: &issueList{}}
	if len(bytes.TrimSpace(body)) == 0 {
		f.m = map[string]json.RawMessage{}
		return f, nil
	}
	m := make(map[string]json.RawMessage, 8)
	if !jsonscan.ValidObject(body, func(k, v []byte) { m[jsonKey(k)] = v }) {
		return nil, invalidBody([]Issue{{Message: "must be a JSON object"}})
	}
	f.m = m
	return f, nil
}

// objectMembers returns the members of raw, a JSON object that jsonscan has checked, as
// json.Unmarshal into a map[string]json.RawMessage would.
func objectMembers(raw []byte) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, 8)
	jsonscan.ObjectEach(raw, func(k, v []byte) bool {
		m[jsonKey(k)] = v
		return true
	})
	return m
}

// jsonKey returns the raw key k (between its quotes, escapes as sent) unescaped, as
// encoding/json decodes a map key: escapes resolved, invalid UTF-8 replaced by U+FFFD.
func jsonKey(k []byte) string {
	if bytes.IndexByte(k, '\\') < 0 && utf8.Valid(k) {
		return string(k)
	}
	var s string
	_ = json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &s) // checked: it decodes
	return s
}

// jsonString returns the string that raw, a JSON string that jsonscan has checked,
// holds, as json.Unmarshal into a string would.
func jsonString(raw []byte) string {
	if len(raw) < 2 {
		return ""
	}
	return jsonKey(raw[1 : len(raw)-1])
}

func (f *fields) path(key string) string { return f.prefix + key }

func (f *fields) add(key, msg string) {
	f.issues.add(f.path(key), msg)
}

// err reports the issues found so far, or nil.
func (f *fields) err() error { return f.issues.err() }

// has reports whether key is present; an explicit null counts as present.
func (f *fields) has(key string) bool {
	_, ok := f.m[key]
	return ok
}

// strict reports every member that is not one of known, as the reference's .strict()
// validators do.
func (f *fields) strict(known ...string) {
	var unknown []string
	for k := range f.m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		f.add(k, "unknown field")
	}
}

// str reads an optional string member. A present non-string (null included) is an issue.
func (f *fields) str(key string) (string, bool) {
	raw, ok := f.m[key]
	if !ok {
		return "", false
	}
	if raw[0] != '"' {
		f.add(key, "must be a string")
		return "", false
	}
	return jsonString(raw), true
}

// maxIDLength bounds every id and slug a body names (Flowglad's own ids are far shorter).
const maxIDLength = 255

// reqStr reads a required, non-empty id or slug of at most maxIDLength characters.
func (f *fields) reqStr(key string) string {
	if !f.has(key) {
		f.add(key, "is required")
		return ""
	}
	s, ok := f.str(key)
	switch {
	case !ok:
		return ""
	case strings.TrimSpace(s) == "":
		f.add(key, "must not be empty")
		return ""
	case utf8.RuneCountInString(s) > maxIDLength:
		f.add(key, "must be at most "+strconv.Itoa(maxIDLength)+" characters")
		return ""
	}
	return s
}

// maxLenStr reads an optional string member of at most n characters.
func (f *fields) maxLenStr(key string, n int) (string, bool) {
	s, ok := f.str(key)
	if ok && utf8.RuneCountInString(s) > n {
		f.add(key, "must be at most "+strconv.Itoa(n)+" characters")
		return "", false
	}
	return s, ok
}

// integer reads an optional integer member within [min, maxSafeInteger]. Integral floats such
// as 2.0 are accepted, as JavaScript makes no difference.
func (f *fields) integer(key string, min int64, msg string) (int64, bool) {
	raw, ok := f.m[key]
	if !ok {
		return 0, false
	}
	n, valid := parseInteger(raw)
	if !valid || n < min {
		f.add(key, msg)
		return 0, false
	}
	return n, true
}

// posInt reads an optional positive integer member.
func (f *fields) posInt(key string) (int64, bool) {
	return f.integer(key, 1, "must be a positive integer")
}

func parseInteger(raw json.RawMessage) (int64, bool) {
	var num json.Number
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &num) != nil {
		return 0, false
	}
	if n, err := strconv.ParseInt(num.String(), 10, 64); err == nil {
		return n, n >= -maxSafeInteger && n <= maxSafeInteger
	}
	fl, err := strconv.ParseFloat(num.String(), 64)
	if err != nil || fl != math.Trunc(fl) || math.Abs(fl) > maxSafeInteger {
		return 0, false
	}
	return int64(fl), true
}

// boolean reads an optional boolean member.
func (f *fields) boolean(key string) (bool, bool) {
	raw, ok := f.m[key]
	if !ok {
		return false, false
	}
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	f.add(key, "must be a boolean")
	return false, false
}

// object reads an optional member that must be a JSON object, decoded generically.
func (f *fields) object(key string) (map[string]any, bool) {
	raw, ok := f.m[key]
	if !ok {
		return nil, false
	}
	// UseNumber keeps numbers exact on their way to Flowglad.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if raw[0] != '{' || dec.Decode(&m) != nil {
		f.add(key, "must be an object")
		return nil, false
	}
	return m, true
}

// nested returns a reader for an object member, sharing this reader's issues; nil (with an
// issue) when the member is absent or not an object.
func (f *fields) nested(key string, required bool) *fields {
	raw, ok := f.m[key]
	if !ok {
		if required {
			f.add(key, "is required")
		}
		return nil
	}
	if raw[0] != '{' {
		f.add(key, "must be an object")
		return nil
	}
	return &fields{m: objectMembers(raw), prefix: f.path(key) + ".", issues: f.issues}
}

// array reads an optional array member; a present empty array is an issue when nonEmpty.
func (f *fields) array(key string, nonEmpty bool) ([]json.RawMessage, bool) {
	raw, ok := f.m[key]
	if !ok {
		return nil, false
	}
	var a []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &a) != nil {
		f.add(key, "must be an array")
		return nil, false
	}
	if nonEmpty && len(a) == 0 {
		f.add(key, "must not be empty")
		return nil, false
	}
	return a, true
}

// stringList reads an optional non-empty array of strings of at most maxLen characters each.
func (f *fields) stringList(key string, maxLen int) ([]string, bool) {
	items, ok := f.array(key, true)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	valid := true
	for i, raw := range items {
		var s string
		at := key + "[" + strconv.Itoa(i) + "]"
		switch {
		case len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil:
			f.add(at, "must be a string")
			valid = false
		case strings.TrimSpace(s) == "":
			f.add(at, "must not be empty")
			valid = false
		case utf8.RuneCountInString(s) > maxLen:
			f.add(at, "must be at most "+strconv.Itoa(maxLen)+" characters")
			valid = false
		}
		out = append(out, s)
	}
	return out, valid
}

// exactlyOne checks that exactly one of keys is present (a null counts as present); it
// returns the key found, or "" after recording an issue.
func (f *fields) exactlyOne(keys ...string) string {
	var present []string
	for _, k := range keys {
		if f.has(k) {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 1:
		return present[0]
	case 0:
		f.issues.add(f.prefix+strings.Join(keys, "|"), "exactly one of "+strings.Join(keys, ", ")+" is required")
	default:
		f.issues.add(f.prefix+strings.Join(present, "|"), "only one of "+strings.Join(keys, ", ")+" may be given")
	}
	return ""
}

// oneString reads exactly one of the string members keys (in the order the messages list
// them) into the destination at the same index of dsts.
func (f *fields) oneString(keys []string, dsts ...*string) {
	k := f.exactlyOne(keys...)
	for i, key := range keys {
		if key == k {
			*dsts[i] = f.reqStr(k)
		}
	}
}

// absoluteURL reads a required member that must be an absolute http or https URL.
func (f *fields) absoluteURL(key string) string {
	s := f.reqStr(key)
	if s == "" {
		return ""
	}
	if !isAbsoluteHTTPURL(s) {
		f.add(key, "must be an absolute http(s) URL")
		return ""
	}
	return s
}

func isAbsoluteHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// metadata reads an optional metadata object; its values are checked by the params' rules.
func (f *fields) metadata(key string) (map[string]any, bool) {
	return f.object(key)
}

// A checker states the rules of one kind of input (the params of an operation) in terms of
// its Go fields, reporting problems under the fields' JSON names. The browser decoders run
// the same rules after checking JSON types, so a Go caller and a browser get the same
// issues for the same input.
type checker interface {
	check(is *issueList)
}

// validateInput checks what every Service operation is given: the customer, then the
// params.
func validateInput(c Customer, p checker) error {
	if err := c.validate(); err != nil {
		return err
	}
	return validate(p)
}

// validate runs c's rules and returns a 400 invalid_body *Error listing every problem, or
// nil.
func validate(c checker) error {
	is := &issueList{}
	c.check(is)
	return is.err()
}

// checked runs c's rules on the issues the decoder has already found; a field the decoder
// already reported keeps its more precise issue.
func (f *fields) checked(c checker) error {
	c.check(f.issues)
	return f.err()
}

// id checks a Flowglad id or slug (a price, a usage meter, a resource, a claim): required
// ones must be given, and none may be blank, longer than maxIDLength characters, or "." or
// "..", which would change which endpoint a Flowglad path reaches (the REST client refuses
// them).
func (l *issueList) id(path, v string, required bool) {
	if isDotSegment(v) {
		l.rule(path, `must not be "." or ".."`)
		return
	}
	l.name(path, v, required)
}

// ownedID checks the id of a subscription whose ownership the operation checks: as id,
// except that "." and ".." pass, because the ownership check answers them as it answers
// any id that is not the customer's (403), without asking Flowglad.
func (l *issueList) ownedID(path, v string, required bool) {
	l.name(path, v, required)
}

// name checks an id the host application chose (a transaction id, the name of a claimed
// unit): required ones must be given, and none may be blank or longer than maxIDLength
// characters.
func (l *issueList) name(path, v string, required bool) {
	switch {
	case v == "":
		if required {
			l.rule(path, "is required")
		}
	case blank(v):
		l.rule(path, "must not be empty")
	case utf8.RuneCountInString(v) > maxIDLength:
		l.rule(path, "must be at most "+strconv.Itoa(maxIDLength)+" characters")
	}
}

// ids checks a list of Flowglad ids: when given (non-nil), not empty, each as id.
func (l *issueList) ids(path string, vs []string) {
	l.list(path, vs, l.id)
}

// names checks a list of the host's ids: when given (non-nil), not empty, each as name.
func (l *issueList) names(path string, vs []string) {
	l.list(path, vs, l.name)
}

func (l *issueList) list(path string, vs []string, each func(path, v string, required bool)) {
	if vs == nil {
		return
	}
	if len(vs) == 0 {
		l.rule(path, "must not be empty")
		return
	}
	for i, v := range vs {
		each(path+"["+strconv.Itoa(i)+"]", v, true)
	}
}

// isDotSegment reports whether s is "." or "..": as a path segment, servers and proxies
// resolve it away.
func isDotSegment(s string) bool { return s == "." || s == ".." }

// exactlyOne checks that exactly one of several alternatives is set (set[i] for
// names[i], members of the object at prefix), unless one of them was already reported,
// alone or as a choice ("a|b").
func (l *issueList) exactlyOne(prefix string, names []string, set ...bool) {
	for _, is := range l.items {
		rest, ok := strings.CutPrefix(is.Path, prefix)
		if !ok {
			continue
		}
		for _, p := range strings.Split(rest, "|") {
			if slices.Contains(names, p) {
				return
			}
		}
	}
	var given []string
	for i, name := range names {
		if l.has(prefix + name) {
			return
		}
		if set[i] {
			given = append(given, name)
		}
	}
	switch len(given) {
	case 1:
	case 0:
		l.rule(prefix+strings.Join(names, "|"), "exactly one of "+strings.Join(names, ", ")+" is required")
	default:
		l.rule(prefix+strings.Join(given, "|"), "only one of "+strings.Join(names, ", ")+" may be given")
	}
}

// url checks a required absolute http(s) URL.
func (l *issueList) url(path, v string) {
	switch {
	case v == "":
		l.rule(path, "is required")
	case !isAbsoluteHTTPURL(v):
		l.rule(path, "must be an absolute http(s) URL")
	}
}

// count checks an optional count: 0 means the default, negative is refused, and so is more
// than max.
func (l *issueList) count(path string, v, max int64) {
	switch {
	case v < 0:
		l.rule(path, "must be a positive integer")
	case v > max:
		l.rule(path, "must be at most "+strconv.FormatInt(max, 10))
	}
}

// metadata checks metadata values: strings of at most 500 characters, finite numbers or
// booleans (Flowglad's Metadata schema).
func (l *issueList) metadata(path string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := path + "." + k
		switch v := m[k].(type) {
		case string:
			if utf8.RuneCountInString(v) > 500 {
				l.rule(at, "must be at most 500 characters")
			}
		case json.Number:
			// 1e400 is valid JSON but not a finite number: Flowglad refuses it.
			if f, err := v.Float64(); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				l.rule(at, "must be a finite number")
			}
		case float64:
			if math.IsInf(v, 0) || math.IsNaN(v) {
				l.rule(at, "must be a finite number")
			}
		case float32:
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
				l.rule(at, "must be a finite number")
			}
		case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		default:
			l.rule(at, "must be a string, number or boolean")
		}
	}
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
