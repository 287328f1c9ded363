package flowgladapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// obj is a decoded JSON object, with accessors that validate like
// Flowglad's zod schemas: a key that is present must have the right type
// (null included: an optional string does not accept null), and errors name
// the field.
type obj struct {
	m    map[string]any
	path string // prefix for error messages, e.g. "usageEvents[2]."
}

// parseBody decodes the request body as a JSON object. Invalid JSON, like
// on the live server, is 400 with no code. allowEmpty lets an empty body
// stand for {} (uncancel).
func parseBody(r *http.Request, allowEmpty bool) (obj, *apiError) {
	body := callOf(r).body
	if len(bytes.TrimSpace(body)) == 0 && allowEmpty {
		return obj{m: map[string]any{}}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return obj{}, &apiError{status: http.StatusBadRequest, message: "Invalid JSON in request body"}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return obj{}, badRequest("Expected an object as the request body")
	}
	return obj{m: m}, nil
}

// bodyObject reads the request body's required object at key: the
// {"customer": {...}} that wraps most create and update bodies.
func bodyObject(r *http.Request, key string) (obj, *apiError) {
	body, err := parseBody(r, false)
	if err != nil {
		return obj{}, err
	}
	in, _, err := body.object(key, true)
	return in, err
}

func (o obj) has(key string) bool {
	_, ok := o.m[key]
	return ok
}

func (o obj) name(key string) string { return o.path + key }

// object returns the nested object at key.
func (o obj) object(key string, required bool) (obj, bool, *apiError) {
	v, ok := o.m[key]
	if !ok {
		if required {
			return obj{}, false, badRequest("%s: Required", o.name(key))
		}
		return obj{}, false, nil
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		return obj{}, false, badRequest("%s: Expected object, received %s", o.name(key), typeName(v))
	}
	return obj{m: m, path: o.name(key) + "."}, true, nil
}

// str returns the string at key; a required one must be non-empty.
func (o obj) str(key string, required bool) (string, bool, *apiError) {
	v, ok := o.m[key]
	if !ok {
		if required {
			return "", false, badRequest("%s: Required", o.name(key))
		}
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, badRequest("%s: Expected string, received %s", o.name(key), typeName(v))
	}
	if required && s == "" {
		return "", false, badRequest("%s: String must contain at least 1 character(s)", o.name(key))
	}
	return s, true, nil
}

// nullableStr accepts a string or null.
func (o obj) nullableStr(key string) (*string, bool, *apiError) {
	v, ok := o.m[key]
	if !ok {
		return nil, false, nil
	}
	if v == nil {
		return nil, true, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return nil, false, badRequest("%s: Expected string, received %s", o.name(key), typeName(v))
	}
	return &s, true, nil
}

func (o obj) boolean(key string) (bool, bool, *apiError) {
	v, ok := o.m[key]
	if !ok {
		return false, false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, false, badRequest("%s: Expected boolean, received %s", o.name(key), typeName(v))
	}
	return b, true, nil
}

// integer returns the integer at key; min is the smallest value allowed.
// Like JavaScript, 3.0 counts as an integer.
func (o obj) integer(key string, required bool, min int64) (int64, bool, *apiError) {
	v, ok := o.m[key]
	if !ok {
		if required {
			return 0, false, badRequest("%s: Required", o.name(key))
		}
		return 0, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, false, badRequest("%s: Expected number, received %s", o.name(key), typeName(v))
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil || fl != math.Trunc(fl) || math.Abs(fl) > 1<<53 {
			return 0, false, badRequest("%s: Expected integer, received float", o.name(key))
		}
		i = int64(fl)
	}
	if i < min {
		if min == 1 {
			return 0, false, badRequest("%s: Number must be greater than 0", o.name(key))
		}
		return 0, false, badRequest("%s: Number must be greater than or equal to %d", o.name(key), min)
	}
	return i, true, nil
}

// metadata returns a Metadata record (string up to 500 chars, number or
// boolean values) at key; null is accepted when nullable.
func (o obj) metadata(key string, nullable bool) (map[string]any, *apiError) {
	v, ok := o.m[key]
	if !ok || (v == nil && nullable) {
		return nil, nil
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		return nil, badRequest("%s: Expected object, received %s", o.name(key), typeName(v))
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		switch val := val.(type) {
		case string:
			if len([]rune(val)) > 500 {
				return nil, badRequest("%s.%s: String must contain at most 500 character(s)", o.name(key), k)
			}
			out[k] = val
		case bool:
			out[k] = val
		case json.Number:
			fl, err := val.Float64()
			if err != nil {
				return nil, badRequest("%s.%s: Expected number", o.name(key), k)
			}
			out[k] = fl
		default:
			return nil, badRequest("%s.%s: Expected string, number or boolean, received %s", o.name(key), k, typeName(val))
		}
	}
	return out, nil
}

// record returns an arbitrary object (usage event properties) at key.
func (o obj) record(key string) (map[string]any, *apiError) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		return nil, badRequest("%s: Expected object, received %s", o.name(key), typeName(v))
	}
	return m, nil
}

// strings returns a non-empty array of strings, each at most max runes
// (0 = no limit).
func (o obj) strings(key string, max int) ([]string, bool, *apiError) {
	v, ok := o.m[key]
	if !ok {
		return nil, false, nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		return nil, false, badRequest("%s: Expected array, received %s", o.name(key), typeName(v))
	}
	if len(arr) == 0 {
		return nil, false, badRequest("%s: Array must contain at least 1 element(s)", o.name(key))
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, isStr := e.(string)
		if !isStr {
			return nil, false, badRequest("%s[%d]: Expected string, received %s", o.name(key), i, typeName(e))
		}
		if max > 0 && len([]rune(s)) > max {
			return nil, false, badRequest("%s[%d]: String must contain at most %d character(s)", o.name(key), i, max)
		}
		out = append(out, s)
	}
	return out, true, nil
}

// oneOf reads the one of keys that is present, which must be a non-empty
// string, and returns that key and its value.
func (o obj) oneOf(keys ...string) (string, string, *apiError) {
	key, err := o.exactlyOne(keys...)
	if err != nil {
		return "", "", err
	}
	v, _, err := o.str(key, true)
	return key, v, err
}

// priceItem reads a price, by exactly one of priceId and priceSlug (the key
// given and its value), and the optional positive quantity, 1 when absent.
func (o obj) priceItem() (key, ref string, quantity int64, err *apiError) {
	if key, ref, err = o.oneOf("priceId", "priceSlug"); err != nil {
		return "", "", 0, err
	}
	q, ok, err := o.integer("quantity", false, 1)
	if !ok {
		return key, ref, 1, err
	}
	return key, ref, q, err
}

// array returns the required array at key.
func (o obj) array(key string) ([]any, *apiError) {
	v, ok := o.m[key]
	if !ok {
		return nil, badRequest("%s: Required", o.name(key))
	}
	arr, isArr := v.([]any)
	if !isArr {
		return nil, badRequest("%s: Expected array, received %s", o.name(key), typeName(v))
	}
	return arr, nil
}

// element returns e, element i of the array at key, as an object.
func (o obj) element(key string, i int, e any) (obj, *apiError) {
	m, isObj := e.(map[string]any)
	if !isObj {
		return obj{}, badRequest("%s[%d]: Expected object, received %s", o.name(key), i, typeName(e))
	}
	return obj{m: m, path: fmt.Sprintf("%s[%d].", o.name(key), i)}, nil
}

// exactlyOne checks that exactly one of keys is present.
func (o obj) exactlyOne(keys ...string) (string, *apiError) {
	found := ""
	for _, k := range keys {
		if o.has(k) {
			if found != "" {
				return "", badRequest("%s", exactlyOneMessage(o.path, keys))
			}
			found = k
		}
	}
	if found == "" {
		return "", badRequest("%s", exactlyOneMessage(o.path, keys))
	}
	return found, nil
}

func exactlyOneMessage(path string, keys []string) string {
	msg := "Exactly one of "
	for i, k := range keys {
		switch {
		case i == 0:
		case i == len(keys)-1:
			msg += ", or "
		default:
			msg += ", "
		}
		msg += path + k
	}
	return msg + " must be provided"
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// absoluteURL checks that s is an absolute http(s) URL: the session's
// successUrl and cancelUrl come back with format "uri".
func absoluteURL(field, s string) *apiError {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badRequest("%s: Invalid url", field)
	}
	return nil
}
