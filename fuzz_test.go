package flowglad_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// fuzzEnv is one handler and fake shared by every input of a fuzz target. It has no OpenAPI
// middleware: that reports through testing.TB methods a fuzz function must not call.
type fuzzEnv struct {
	h    *flowglad.Handler
	fake *flowgladapitest.Server
}

// fuzzMaxBody is the handler's body limit in the fuzz targets, small enough for the fuzzer
// to reach 413.
const fuzzMaxBody = 2048

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	fake := flowgladapitest.NewServer(f, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()), flowgladapitest.WithClock(testNow))
	p := fastRetries
	h, err := flowglad.NewHandler(flowglad.Config{
		APIKey:       fake.APIKey(),
		BaseURL:      fake.URL,
		Auth:         testAuth,
		Logger:       slog.New(slog.DiscardHandler),
		RetryPolicy:  &p,
		MaxBodyBytes: fuzzMaxBody,
		Timeout:      10 * time.Second,
	})
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzEnv{h: h, fake: fake}
}

// serve sends one request and returns the status, the decoded envelope (nil if the body is
// not JSON) and the Flowglad calls it caused.
func (e *fuzzEnv) serve(method, path, ctype string, body []byte) (int, map[string]any, []flowgladapitest.Request) {
	e.fake.ResetRequests()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
	r.Method = method
	r.URL.Path = path
	r.URL.RawPath = ""
	r.Header.Set("Content-Type", ctype)
	r.Header.Set("X-Test-User", "user_alice")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	var env map[string]any
	if json.Unmarshal(w.Body.Bytes(), &env) != nil {
		env = nil
	}
	return w.Code, env, e.fake.Requests()
}

func errorCode(env map[string]any) string {
	e, _ := env["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// FuzzActionKey sends arbitrary paths after /api/flowglad/ with arbitrary methods: the
// handler never panics, answers a JSON envelope, and calls Flowglad only for one of the 24
// keys with POST; any other path is 404 unknown_action.
func FuzzActionKey(f *testing.F) {
	for _, k := range flowglad.ActionKeys() {
		f.Add("POST", string(k))
		f.Add("GET", string(k))
	}
	f.Add("POST", "")
	f.Add("POST", "customers/billing/")
	f.Add("OPTIONS", "Customers/Billing")
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, method, key string) {
		status, body, calls := env.serve(method, "/api/flowglad/"+key, "application/json", []byte(`{}`))
		if body == nil {
			t.Fatalf("%s %q: status %d, the answer is not JSON", method, key, status)
		}
		known := slices.Contains(flowglad.ActionKeys(), flowglad.ActionKey(key))
		switch {
		case !known:
			if status != http.StatusNotFound || errorCode(body) != "unknown_action" {
				t.Fatalf("%s %q: unknown key answered %d %v", method, key, status, body)
			}
		case method != http.MethodPost:
			if status != http.StatusMethodNotAllowed {
				t.Fatalf("%s %q: answered %d, want 405", method, key, status)
			}
		}
		if len(calls) > 0 && (!known || method != http.MethodPost) {
			t.Fatalf("%s %q made %d Flowglad calls", method, key, len(calls))
		}
		if _, hasData := body["data"]; hasData == (body["error"] != nil) {
			t.Fatalf("%s %q: want exactly one of data and error: %v", method, key, body)
		}
	})
}

// FuzzHandlerBody sends arbitrary bodies to every key as a signed-in customer: the handler
// never panics and never answers 5xx against a well-behaved Flowglad, and a body it refuses
// (400 invalid_body/invalid_json, 413, 415) never reaches Flowglad.
func FuzzHandlerBody(f *testing.F) {
	keys := flowglad.ActionKeys()
	for i, kc := range allKeyCases() {
		f.Add(byte(i), []byte(kc.body))
		f.Add(byte(i), []byte(`{"junk":`))
	}
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, idx byte, body []byte) {
		key := keys[int(idx)%len(keys)]
		ctype := "application/json"
		if idx >= 128 {
			// Half the index space also varies the content type.
			ctype = "text/plain"
		}
		status, out, calls := env.serve(http.MethodPost, "/api/flowglad/"+string(key), ctype, body)
		if out == nil {
			t.Fatalf("%s: status %d, the answer is not JSON", key, status)
		}
		code := errorCode(out)
		if status >= 500 && !(key == flowglad.ActionSubscriptionsCreate && status == http.StatusNotImplemented) {
			t.Fatalf("%s %q: %d %v", key, body, status, out)
		}
		refused := status == http.StatusRequestEntityTooLarge || status == http.StatusUnsupportedMediaType ||
			status == http.StatusBadRequest && (code == "invalid_body" || code == "invalid_json")
		if refused && len(calls) > 0 {
			t.Fatalf("%s %q: refused with %d %s after %d Flowglad calls", key, body, status, code, len(calls))
		}
		if ctype != "application/json" && status != http.StatusUnsupportedMediaType {
			t.Fatalf("%s: text/plain answered %d", key, status)
		}
		if len(body) > fuzzMaxBody && ctype == "application/json" && status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: a %d-byte body answered %d", key, len(body), status)
		}
		if status == http.StatusOK {
			if _, ok := out["data"]; !ok || out["error"] != nil {
				t.Fatalf("%s: 200 without data: %v", key, out)
			}
		} else if _, hasData := out["data"]; hasData || code == "" {
			t.Fatalf("%s: error answer %d is malformed: %v", key, status, out)
		}
	})
}
