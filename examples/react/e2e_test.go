package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
)

// The end-to-end test drives the real page (web/dist, built on the published
// @flowglad/react) in Debian's Chromium, against the whole app built in-process and a
// flowgladapitest server, and then checks the Flowglad calls the handler made.
//
//	go test ./examples/react -run TestE2E -v
//	DEMO_SCREENSHOT=docs/demo.png go test ./examples/react -run TestE2E   # README screenshot
//
// Without a browser it skips; FLOWGLAD_E2E_REQUIRE=1 (set in CI) makes that a failure.

const (
	// e2eTimeout bounds the whole test: browser start, every step, shutdown.
	e2eTimeout = 3 * time.Minute
	// stepTimeout bounds each wait in the page.
	stepTimeout = 20 * time.Second
)

// chromiumPath finds Debian's Chromium, or returns "".
func chromiumPath() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// requireBrowser returns the browser's path, or skips (fails with FLOWGLAD_E2E_REQUIRE=1).
func requireBrowser(t *testing.T) string {
	t.Helper()
	required := os.Getenv("FLOWGLAD_E2E_REQUIRE") == "1"
	if testing.Short() && !required {
		t.Skip("end-to-end browser test skipped in -short mode")
	}
	p := chromiumPath()
	if p == "" {
		msg := "no Chromium found (/usr/bin/chromium or chromium in PATH); install it with " +
			"`apt-get install -y chromium` to run the end-to-end test"
		if required {
			t.Fatal(msg + " (FLOWGLAD_E2E_REQUIRE=1)")
		}
		t.Skip(msg)
	}
	return p
}

// browser is one Chromium tab driven by a test.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab; every wait derives a bounded context from it
	dir string          // where failure screenshots go

	mu         sync.Mutex
	console    []string // every console message, logged when the test ends
	exceptions []string // uncaught exceptions and unhandled rejections
}

// newBrowser starts a headless Chromium with the flags of shared/TOOLCHAIN.md (they replace
// chromedp's defaults) and opens a tab. The console is logged when the test ends.
func newBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	ctx, cancelAll := context.WithTimeout(t.Context(), e2eTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)

	// Start the browser on the long-lived tab context: a browser started under a short step
	// context would die with it.
	require.NoError(t, chromedp.Do(tabCtx, chromedp.EmulateViewport(1280, 900)), "starting Chromium")

	b := &browser{t: t, ctx: tabCtx, dir: t.TempDir()}
	messages := chromedp.Console(tabCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			line := fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m.Text)
			b.mu.Lock()
			b.console = append(b.console, line)
			if m.IsException() {
				b.exceptions = append(b.exceptions, line)
			}
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for Chromium to exit
		cancelAll()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, l := range b.console {
			t.Log("browser console:", l)
		}
	})
	return b
}

// uncaught returns the page's uncaught exceptions so far.
func (b *browser) uncaught() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.exceptions...)
}

// do runs actions within stepTimeout; on failure it saves a screenshot and stops the test.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatal(what, err)
	}
}

// text returns the visible text of the element with the given data-testid.
func (b *browser) text(testID string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(byTestID(testID)))
	if err != nil {
		b.fatal("reading "+testID, err)
	}
	return strings.TrimSpace(s)
}

// number reads an element's text as an integer (digits only, "1,000" and "1000" alike).
func (b *browser) number(testID string) int {
	b.t.Helper()
	s := b.text(testID)
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		b.fatal("reading "+testID+" as a number", errors.New("text is "+strconv.Quote(s)))
	}
	return n
}

// waitText waits until the element's trimmed text is want. It polls in the page, so it
// must not span a navigation: wait for an element of the new page first.
func (b *browser) waitText(testID, want string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(sel, want) => { const el = document.querySelector(sel); return !!el && el.textContent.trim() === want }`,
		chromedp.WithPollingArgs(testIDSelector(testID), want),
		chromedp.WithPollingTimeout(stepTimeout),
	))
	if err != nil {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](
			`(document.querySelector(`+strconv.Quote(testIDSelector(testID))+`) || {}).textContent || "<absent>"`))
		b.fatal("waiting for "+testID+" to read "+strconv.Quote(want)+" (it reads "+strconv.Quote(got)+")", err)
	}
}

// screenshot saves a full-page screenshot (PNG) to path.
func (b *browser) screenshot(path string) error {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

func (b *browser) fatal(what string, err error) {
	b.t.Helper()
	p := filepath.Join(b.dir, "failure.png")
	if shotErr := b.screenshot(p); shotErr == nil {
		b.t.Logf("screenshot of the page at the failure: %s", p)
	}
	if loc, locErr := chromedp.Run(b.ctx, chromedp.Location()); locErr == nil {
		b.t.Logf("page URL at the failure: %s", loc)
	}
	b.t.Fatalf("%s: %v", what, err)
}

func testIDSelector(id string) string { return `[data-testid="` + id + `"]` }

func byTestID(id string) chromedp.CSS { return chromedp.CSS(testIDSelector(id)) }

func TestE2E(t *testing.T) {
	execPath := requireBrowser(t)

	app, fake := startApp(t)
	b := newBrowser(t, execPath)

	// Signed out: the picker and the public pricing (pricing-models/retrieve, anonymous).
	b.do("loading the page signed out",
		chromedp.Navigate(app.URL),
		chromedp.WaitVisible(byTestID("signed-out")),
		chromedp.WaitVisible(byTestID("login-user_alice")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="pricing-table"][data-state="ready"]`)),
	)

	// Sign in as Alice (Pro). The page reloads; billing-loaded exists only after it.
	b.do("signing in as user_alice",
		chromedp.WaitEnabled(byTestID("login-user_alice")),
		chromedp.Click(byTestID("login-user_alice")),
		chromedp.WaitVisible(byTestID("billing-loaded")),
	)
	assert.Contains(t, b.text("current-user"), "Alice Example")
	b.waitText("plan-name", "Pro")
	assert.Equal(t, "active", b.text("plan-status"))
	assert.Equal(t, "yes", b.text("feature-premium"), "Pro grants premium")
	assert.Equal(t, "no", b.text("feature-sso"), "Pro does not grant sso")
	b.do("waiting for usage, seats and pricing",
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="usage-balance"][data-state="known"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="seats-panel"][data-state="ready"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="pricing-table"][data-state="ready"]`)),
	)

	// The server's premium endpoint: Pro grants the feature, the server meters the work,
	// and after the page reloads billing the balance has dropped by what the work used.
	balance := b.number("usage-balance")
	b.do("generating as Alice",
		chromedp.WaitEnabled(byTestID("generate")),
		chromedp.Click(byTestID("generate")),
		chromedp.WaitVisible(byTestID("generate-result")),
	)
	assert.Contains(t, b.text("generate-text"), "Alice")
	generated := b.number("generate-tokens")
	require.Positive(t, generated)
	// The usage goes through the server's recorder: the pipeline shows it recorded within
	// a flush interval, and the page then reloads billing.
	b.waitText("pipeline-recorded", "1")
	b.waitText("usage-balance", strconv.Itoa(balance-generated))
	assert.Equal(t, "0", b.text("pipeline-dead-lettered"))

	if p := os.Getenv("DEMO_SCREENSHOT"); p != "" {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, b.screenshot(p), "saving DEMO_SCREENSHOT")
		t.Logf("demo screenshot saved to %s", p)
	}

	// Upgrade to Team through the hosted checkout (the fake's page), and come back.
	b.do("starting checkout for team-monthly",
		chromedp.WaitEnabled(byTestID("checkout-team-monthly")),
		chromedp.Click(byTestID("checkout-team-monthly")),
		chromedp.WaitVisible(chromedp.ID("complete-checkout")),
	)
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(loc, fake.URL+"/checkout/"), "checkout page URL %q is the fake's", loc)
	assert.Contains(t, b.textOf(chromedp.ID("checkout-summary")), "Team")
	b.do("completing checkout",
		chromedp.Click(chromedp.ID("complete-checkout")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="checkout-status"][data-state="success"]`)),
		chromedp.WaitVisible(byTestID("billing-loaded")),
	)
	loc, err = chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, app.URL+"/?checkout=success", loc)
	b.waitText("plan-name", "Team")
	b.waitText("feature-sso", "yes")

	// Record one API call: the balance drops by one.
	b.do("waiting for the usage balance",
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="usage-balance"][data-state="known"]`)),
		chromedp.WaitEnabled(byTestID("record-usage")),
	)
	balance = b.number("usage-balance")
	b.do("recording usage", chromedp.Click(byTestID("record-usage")), chromedp.WaitVisible(byTestID("last-usage-event")))
	b.waitText("usage-balance", strconv.Itoa(balance-1))

	// Cancel at period end, then undo it.
	b.do("cancelling", chromedp.WaitEnabled(byTestID("cancel-subscription")), chromedp.Click(byTestID("cancel-subscription")))
	b.waitText("plan-status", "cancellation_scheduled")
	b.do("cancellation shown", chromedp.WaitVisible(byTestID("plan-cancels-at-period-end")))
	b.do("uncancelling", chromedp.WaitEnabled(byTestID("uncancel-subscription")), chromedp.Click(byTestID("uncancel-subscription")))
	b.waitText("plan-status", "active")

	// Claim a seat and release it.
	b.do("waiting for seats",
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="seats-panel"][data-state="ready"]`)),
		chromedp.WaitEnabled(byTestID("claim-seat")),
	)
	claimed := b.number("seats-claimed")
	b.do("claiming a seat", chromedp.Click(byTestID("claim-seat")))
	b.waitText("seats-claimed", strconv.Itoa(claimed+1))
	b.do("releasing a seat", chromedp.WaitEnabled(byTestID("release-seat")), chromedp.Click(byTestID("release-seat")))
	b.waitText("seats-claimed", strconv.Itoa(claimed))
	assertFlowgladCalls(t, fake.Requests(), app.URL, generated)

	// Bob's Free plan lacks the feature: the server refuses before any work, the page says
	// why, and nothing is metered.
	events := len(fake.UsageEvents())
	fake.ResetRequests()
	b.do("signing in as user_bob",
		chromedp.WaitEnabled(byTestID("login-user_bob")),
		chromedp.Click(byTestID("login-user_bob")),
		// Only the page loaded after the sign-in shows Bob as the current user.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-user_bob"][aria-pressed="true"]`)),
		chromedp.WaitVisible(byTestID("billing-loaded")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="usage-balance"][data-state="known"]`)),
	)
	b.waitText("feature-premium", "no")
	balance = b.number("usage-balance")
	b.do("generating as Bob",
		chromedp.WaitEnabled(byTestID("generate")),
		chromedp.Click(byTestID("generate")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="generate-refusal"][data-code="feature_required"]`)),
		chromedp.WaitEnabled(byTestID("generate")), // the billing reload is done
	)
	assert.Contains(t, b.text("generate-refusal"), "upgrade to Pro or Team")
	assert.Equal(t, balance, b.number("usage-balance"))
	assert.Len(t, fake.UsageEvents(), events, "no usage recorded for Bob")
	assert.Zero(t, usageEventPosts(fake.Requests()), "no usage event sent for Bob")
	for _, r := range fake.Requests() {
		if rest, ok := strings.CutPrefix(r.Path, "/api/v1/customers/"); ok {
			assert.True(t, strings.HasPrefix(rest, flowgladapitest.DemoCustomerBob+"/"), "call for another customer: %s %s", r.Method, r.Path)
		}
	}

	// Nothing went wrong on the way.
	banner, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="error-banner"]') !== null`))
	require.NoError(t, err)
	assert.False(t, banner, "the page shows an error banner")
	assert.Empty(t, b.uncaught(), "uncaught exceptions in the page")

	shot := filepath.Join(b.dir, "e2e.png")
	require.NoError(t, b.screenshot(shot))
	t.Logf("full-page screenshot: %s", shot)
}

// textOf returns the visible text of any element.
func (b *browser) textOf(sel chromedp.ID) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		b.fatal("reading #"+string(sel), err)
	}
	return s
}

// assertFlowgladCalls checks what the handler and the middleware asked of Flowglad while the
// browser clicked as Alice; generated is what the page's generation used.
func assertFlowgladCalls(t *testing.T, reqs []flowgladapitest.Request, appURL string, generated int) {
	t.Helper()
	const sub = flowgladapitest.DemoAliceSubscriptionID
	bodyOf := func(method, path string) map[string]any {
		t.Helper()
		var found []flowgladapitest.Request
		for _, r := range reqs {
			if r.Method == method && r.Path == path {
				found = append(found, r)
			}
		}
		if !assert.Len(t, found, 1, "%s %s calls", method, path) {
			return nil
		}
		var body map[string]any
		if !assert.NoError(t, json.Unmarshal(found[0].Body, &body), "%s %s body %s", method, path, found[0].Body) {
			return nil
		}
		return body
	}
	member := func(m map[string]any, key string) map[string]any {
		v, _ := m[key].(map[string]any)
		return v
	}

	checkout := member(bodyOf("POST", "/api/v1/checkout-sessions"), "checkoutSession")
	assert.Equal(t, "product", checkout["type"])
	assert.Equal(t, flowgladapitest.DemoPriceTeamMonthly, checkout["priceSlug"])
	assert.Equal(t, flowgladapitest.DemoCustomerAlice, checkout["customerExternalId"])
	assert.Equal(t, appURL+"/?checkout=success", checkout["successUrl"])
	assert.Equal(t, appURL+"/?checkout=cancel", checkout["cancelUrl"])

	// Two usage events: the generation, metered by the server's recorder in a batch (a bulk
	// call), then the record-usage button (the route's usage-events/create).
	var amounts []any
	checkEvent := func(usage map[string]any) {
		assert.Equal(t, sub, usage["subscriptionId"])
		assert.Equal(t, flowgladapitest.DemoUsageMeterAPICalls, usage["usageMeterSlug"])
		assert.NotEmpty(t, usage["transactionId"], "a transactionId makes the event safe to retry")
		amounts = append(amounts, usage["amount"])
	}
	for _, r := range reqs {
		if r.Method != "POST" || !strings.HasPrefix(r.Path, "/api/v1/usage-events") {
			continue
		}
		var body map[string]any
		if !assert.NoError(t, json.Unmarshal(r.Body, &body), "usage event body %s", r.Body) {
			continue
		}
		if r.Path == "/api/v1/usage-events/bulk" {
			events, _ := body["usageEvents"].([]any)
			for _, e := range events {
				ev, _ := e.(map[string]any)
				checkEvent(ev)
			}
			continue
		}
		checkEvent(member(body, "usageEvent"))
	}
	assert.Equal(t, []any{float64(generated), float64(1)}, amounts)

	cancel := member(bodyOf("POST", "/api/v1/subscriptions/"+sub+"/cancel"), "cancellation")
	assert.Equal(t, "at_end_of_current_billing_period", cancel["timing"])
	bodyOf("POST", "/api/v1/subscriptions/"+sub+"/uncancel")

	claim := bodyOf("POST", "/api/v1/resource-claims/"+sub+"/claim")
	assert.Equal(t, flowgladapitest.DemoResourceSeats, claim["resourceSlug"])
	assert.EqualValues(t, 1, claim["quantity"])
	release := bodyOf("POST", "/api/v1/resource-claims/"+sub+"/release")
	assert.Equal(t, flowgladapitest.DemoResourceSeats, release["resourceSlug"])
	assert.EqualValues(t, 1, release["quantity"])

	// Every customer-scoped call was for the signed-in customer.
	for _, r := range reqs {
		if rest, ok := strings.CutPrefix(r.Path, "/api/v1/customers/"); ok {
			ext, _, _ := strings.Cut(rest, "/")
			assert.Equal(t, flowgladapitest.DemoCustomerAlice, ext, "call for another customer: %s %s", r.Method, r.Path)
		}
	}
}
