package flowgladapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"time"

	"github.com/flowglad-go/flowglad/webhook"
)

// This file is the fake's webhooks: endpoints registered through the API
// or AddWebhook, and Svix-style deliveries of the events that changes to
// the state produce. Deliveries run on goroutines of their own and never
// hold Fake.mu while calling out.

// Webhook is a webhook endpoint registered on the fake.
type Webhook struct {
	ID             string
	Name           string
	URL            string
	FilterTypes    []webhook.EventType
	Active         bool
	PricingModelID string
	// Secret is the endpoint's signing secret ("whsec_<base64 key>"), which
	// Flowglad shows once, when the endpoint is created. The fake derives
	// it from the id, so the same calls always give the same secrets.
	Secret string
}

// WebhookDelivery is one event sent, or being sent, to one endpoint.
type WebhookDelivery struct {
	WebhookID string
	URL       string
	// MessageID is the svix-id header: the same on every attempt, and for
	// every endpoint the event goes to.
	MessageID string
	EventType webhook.EventType
	Payload   []byte
	// Attempts counts the requests made so far; StatusCode is the last
	// one's status (0 when it got no response).
	Attempts   int
	StatusCode int
	// Delivered is set once an attempt got a 2xx answer; Done once no more
	// attempts will be made (delivered, given up, or CloseWebhooks).
	Delivered bool
	Done      bool
}

const (
	defaultWebhookRetries = 3
	defaultWebhookBackoff = 10 * time.Millisecond
	// webhookAttemptTimeout is how long Flowglad waits for an answer.
	webhookAttemptTimeout = 10 * time.Second
)

// knownEventTypes is the filterTypes enum of POST /api/v1/webhooks.
var knownEventTypes = []webhook.EventType{
	webhook.CustomerCreated, webhook.CustomerUpdated, webhook.PurchaseCompleted,
	webhook.PaymentFailed, webhook.PaymentSucceeded, webhook.SubscriptionCreated,
	webhook.SubscriptionUpdated, webhook.SubscriptionCanceled, webhook.SyncEventsAvailable,
}

type hookConfig struct {
	client  *http.Client
	retries int
	backoff time.Duration
	updates bool
}

// WithWebhookRetries sets how many times a failed delivery (no answer, or
// an answer outside 2xx) is retried (default 3) and the wait before the
// first retry (default 10ms), doubled before each next one. Flowglad
// retries for hours; a test wants milliseconds.
func WithWebhookRetries(retries int, backoff time.Duration) Option {
	return func(c *config) {
		c.hooks.retries, c.hooks.backoff = max(retries, 0), max(backoff, 0)
	}
}

// WithWebhookHTTPClient sets the client deliveries are sent with (an
// httptest TLS server's Client, say). Whatever the client, each attempt
// gives up after 10 seconds, as Flowglad does.
func WithWebhookHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.hooks.client = hc }
}

// WithWebhookUpdates makes the fake also send customer.updated (a customer
// updated or archived) and subscription.updated (a subscription changed
// without being created or canceled: a scheduled cancellation, an
// uncancel, an adjustment, a checkout that moves it to another price).
// Flowglad lists both types, but its server does not send them today, so
// by default the fake does not either: a test should not pass on an event
// that production never delivers.
func WithWebhookUpdates() Option {
	return func(c *config) { c.hooks.updates = true }
}

// hooks is the fake's webhook state. hookConfig, ctx and cancel are set
// once by newFake; the rest is guarded by Fake.mu.
type hooks struct {
	hookConfig
	ctx    context.Context // done once CloseWebhooks is called
	cancel context.CancelFunc

	endpoints  []*endpoint
	deliveries []*WebhookDelivery
	pending    int
	idle       chan struct{} // closed while pending == 0
	closed     bool
}

type endpoint struct {
	Webhook
	createdAt, updatedAt int64
	handler              http.Handler // SetWebhookHandler's; nil = over the network
}

func newHooks(c hookConfig) hooks {
	if c.client == nil {
		c.client = &http.Client{} // each attempt is bounded by its context
	}
	ctx, cancel := context.WithCancel(context.Background())
	idle := make(chan struct{})
	close(idle)
	return hooks{hookConfig: c, ctx: ctx, cancel: cancel, idle: idle}
}

// AddWebhook registers an active endpoint at url for the given event
// types, as POST /api/v1/webhooks does, and returns it with its secret.
func (f *Fake) AddWebhook(url string, types ...webhook.EventType) (Webhook, error) {
	if err := absoluteURL("url", url); err != nil {
		return Webhook{}, fmt.Errorf("flowgladapitest: %s", err.message)
	}
	for _, t := range types {
		if !slices.Contains(knownEventTypes, t) {
			return Webhook{}, fmt.Errorf("flowgladapitest: unknown event type %q", t)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addWebhookLocked(Webhook{Name: "test webhook", URL: url, FilterTypes: types, Active: true}).out(), nil
}

func (f *Fake) addWebhookLocked(w Webhook) *endpoint {
	now := f.now()
	w.ID = f.newIDLocked("webhook")
	w.PricingModelID = f.st.pm.id
	key := sha256.Sum256([]byte("flowgladapitest webhook secret " + w.ID))
	w.Secret = "whsec_" + base64.StdEncoding.EncodeToString(key[:24])
	ep := &endpoint{Webhook: w, createdAt: now, updatedAt: now}
	f.hooks.endpoints = append(f.hooks.endpoints, ep)
	return ep
}

func (ep *endpoint) out() Webhook {
	w := ep.Webhook
	w.FilterTypes = slices.Clone(w.FilterTypes)
	return w
}

// SetWebhookHandler makes the fake deliver endpoint id's events to h in
// process instead of over the network: h is called as an HTTP server would
// call it, with a POST to the endpoint's URL (its path and host), Flowglad's
// body and signed Svix headers, and its status is the attempt's (a panic is
// an attempt without an answer). A nil h goes back to the network.
//
// It breaks the circle of a webhook test: AddWebhook gives the secret the
// app is built with, and the app, which need not listen anywhere, is then
// attached to the endpoint. Attach it before changing the state, or the
// first attempts of the events that change sends go to the URL. Attempts
// made later, retries of earlier events included, use h. h should return
// once the request's context is done (CloseWebhooks cancels it), as a
// server's handler should.
func (f *Fake) SetWebhookHandler(id string, h http.Handler) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ep := first(f.hooks.endpoints, func(ep *endpoint) bool { return ep.ID == id })
	if ep == nil {
		return fmt.Errorf("flowgladapitest: no webhook endpoint %q", id)
	}
	ep.handler = h
	return nil
}

// Webhooks returns the registered endpoints, oldest first.
func (f *Fake) Webhooks() []Webhook {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyAll(f.hooks.endpoints, (*endpoint).out)
}

// WebhookDeliveries returns a copy of every delivery, in the order the
// events happened (one entry per event and endpoint), with its progress so
// far. Call WaitWebhookDeliveries first to see them finished.
func (f *Fake) WebhookDeliveries() []WebhookDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyAll(f.hooks.deliveries, func(d *WebhookDelivery) WebhookDelivery {
		c := *d
		c.Payload = bytes.Clone(d.Payload)
		return c
	})
}

// WaitWebhookDeliveries waits until every delivery started before the call
// is done (delivered or given up after its retries), including the ones
// that its receivers caused while it waited, or until ctx is done.
func (f *Fake) WaitWebhookDeliveries(ctx context.Context) error {
	f.mu.Lock()
	idle := f.hooks.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CloseWebhooks stops delivering: no new deliveries start, pending retries
// are abandoned, requests in flight are cancelled, and it returns once
// every delivery goroutine has ended. NewServer calls it in tb.Cleanup; a
// Fake made by New that has webhooks should be closed by its owner. It is
// safe to call more than once.
func (f *Fake) CloseWebhooks() {
	f.mu.Lock()
	f.hooks.closed = true
	idle := f.hooks.idle
	f.mu.Unlock()
	f.hooks.cancel()
	<-idle
}

// webhookSnapshot is what notifyLocked compares with the state after a
// change, to find the events the change makes.
type webhookSnapshot struct {
	customers map[*customer]string // fingerprint
	subs      map[*subscription]subscriptionPrint
	purchases map[*purchase]bool
	payments  map[string]bool
}

type subscriptionPrint struct {
	status, print string
}

// snapshotLocked records the state's fingerprints before a change, or
// returns nil when no endpoint could receive an event.
func (f *Fake) snapshotLocked() *webhookSnapshot {
	if f.hooks.closed || !slices.ContainsFunc(f.hooks.endpoints, func(ep *endpoint) bool { return ep.Active }) {
		return nil
	}
	s := &webhookSnapshot{
		customers: map[*customer]string{},
		subs:      map[*subscription]subscriptionPrint{},
		purchases: map[*purchase]bool{},
		payments:  map[string]bool{},
	}
	// Fingerprints (JSON of every record) are only compared for the update
	// events; without them, membership and status are enough.
	for _, c := range f.st.customers {
		s.customers[c] = ""
		if f.hooks.updates {
			s.customers[c] = f.customerPrint(c)
		}
		for _, p := range c.purchases {
			s.purchases[p] = true
		}
		for _, inv := range c.invoices {
			if inv.paymentID != "" {
				s.payments[inv.paymentID] = true
			}
		}
	}
	for _, sub := range f.st.subs {
		s.subs[sub] = subscriptionPrint{status: sub.status}
		if f.hooks.updates {
			s.subs[sub] = subscriptionPrint{sub.status, f.subscriptionPrint(sub)}
		}
	}
	return s
}

// notifyLocked sends the events of what changed since before, in the order
// of the records: customers, subscriptions, payments, then purchases.
func (f *Fake) notifyLocked(before *webhookSnapshot) {
	if before == nil {
		return
	}
	for _, c := range f.st.customers {
		old, existed := before.customers[c]
		switch {
		case !existed:
			f.emitLocked(webhook.CustomerCreated, webhook.ObjectCustomer, c.id, c)
		case f.hooks.updates && old != f.customerPrint(c):
			f.emitLocked(webhook.CustomerUpdated, webhook.ObjectCustomer, c.id, c)
		}
	}
	for _, s := range f.st.subs {
		old, existed := before.subs[s]
		switch {
		case !existed:
			f.emitLocked(webhook.SubscriptionCreated, webhook.ObjectSubscription, s.id, s.cust)
		case s.status == StatusCanceled && old.status != StatusCanceled:
			// Flowglad cancels a free plan replaced by a paid
			// subscription without an event.
			if s.replacedBy == nil {
				f.emitLocked(webhook.SubscriptionCanceled, webhook.ObjectSubscription, s.id, s.cust)
			}
		case f.hooks.updates && old.print != f.subscriptionPrint(s):
			f.emitLocked(webhook.SubscriptionUpdated, webhook.ObjectSubscription, s.id, s.cust)
		}
	}
	for _, c := range f.st.customers {
		for _, inv := range c.invoices {
			if inv.paymentID != "" && !before.payments[inv.paymentID] {
				f.emitLocked(webhook.PaymentSucceeded, webhook.ObjectPayment, inv.paymentID, c)
			}
		}
	}
	for _, c := range f.st.customers {
		for _, p := range c.purchases {
			if !before.purchases[p] && p.status == "paid" {
				f.emitLocked(webhook.PurchaseCompleted, webhook.ObjectPurchase, p.id, c)
			}
		}
	}
}

func (f *Fake) customerPrint(c *customer) string {
	b, _ := json.Marshal(f.customerJSON(c))
	return string(b)
}

// subscriptionPrint covers the record and its current items, which an
// adjustment changes without touching the record on a fixed clock.
func (f *Fake) subscriptionPrint(s *subscription) string {
	items := []string{}
	for _, it := range s.activeItems() {
		items = append(items, it.id+"x"+strconv.FormatInt(it.quantity, 10))
	}
	b, _ := json.Marshal(struct {
		S       subscriptionJSON
		Items   []string
		Pending int
	}{f.subscriptionJSON(s), items, len(s.pending)})
	return string(b)
}

// eventPayload is the body Flowglad sends: the event's payload and the
// pricingModelId added when it is handed to Svix.
type eventPayload struct {
	ID             string         `json:"id"`
	Object         webhook.Object `json:"object"`
	Customer       eventCustomer  `json:"customer"`
	PricingModelID string         `json:"pricingModelId"`
}

type eventCustomer struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
}

// emitLocked starts a delivery of the event to every active endpoint that
// subscribed to its type. All of them get the same message id.
func (f *Fake) emitLocked(typ webhook.EventType, object webhook.Object, id string, c *customer) {
	var targets []*endpoint
	for _, ep := range f.hooks.endpoints {
		if ep.Active && slices.Contains(ep.FilterTypes, typ) {
			targets = append(targets, ep)
		}
	}
	if len(targets) == 0 || f.hooks.closed {
		return
	}
	payload, _ := json.Marshal(eventPayload{
		ID: id, Object: object, PricingModelID: f.st.pm.id,
		Customer: eventCustomer{ID: c.id, ExternalID: c.externalID},
	})
	msgID := f.newIDLocked("msg")
	for _, ep := range targets {
		d := &WebhookDelivery{WebhookID: ep.ID, URL: ep.URL, MessageID: msgID, EventType: typ, Payload: payload}
		f.hooks.deliveries = append(f.hooks.deliveries, d)
		if f.hooks.pending == 0 {
			f.hooks.idle = make(chan struct{})
		}
		f.hooks.pending++
		go f.deliver(d, ep.Secret)
	}
}

// deliver sends d until an attempt is answered 2xx, the retries run out or
// the webhooks are closed. d's fields other than the ones it reads here
// (which never change) are written under f.mu.
func (f *Fake) deliver(d *WebhookDelivery, secret string) {
	defer f.deliveryDone(d)
	ctx := f.hooks.ctx
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleep(ctx, f.hooks.backoff<<(attempt-1)) {
			return
		}
		f.mu.Lock()
		now := f.clock() // the caller's clock may not be safe to share
		var h http.Handler
		if ep := first(f.hooks.endpoints, func(ep *endpoint) bool { return ep.ID == d.WebhookID }); ep != nil {
			h = ep.handler
		}
		f.mu.Unlock()
		status := f.post(ctx, d, secret, now, h)
		f.mu.Lock()
		d.Attempts, d.StatusCode = d.Attempts+1, status
		d.Delivered = status >= 200 && status < 300
		f.mu.Unlock()
		if d.Delivered || attempt >= f.hooks.retries || ctx.Err() != nil {
			return
		}
	}
}

func (f *Fake) deliveryDone(d *WebhookDelivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.Done = true
	f.hooks.pending--
	if f.hooks.pending == 0 {
		close(f.hooks.idle)
	}
}

// post makes one attempt, signed at now, over the network or to h when it
// is not nil, and returns the answer's status (0 for no answer).
func (f *Fake) post(ctx context.Context, d *WebhookDelivery, secret string, now time.Time, h http.Handler) int {
	hdr, err := webhook.Sign(secret, d.MessageID, now, d.Payload)
	if err != nil { // the fake makes its secrets; this is a bug
		panic(err)
	}
	ctx, cancel := context.WithTimeout(ctx, webhookAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flowgladapitest-webhooks/1")
	if h != nil {
		return serveInProcess(h, req)
	}
	resp, err := f.hooks.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode
}

// serveInProcess has h answer req as a server would: the request as a
// server sees it (RequestURI, RemoteAddr, Host), the status written (200
// when nothing is), and 0 for a handler that panics, which a server would
// turn into a dropped connection.
func serveInProcess(h http.Handler, req *http.Request) (status int) {
	req.RequestURI = req.URL.RequestURI()
	req.RemoteAddr = "192.0.2.1:1234" // TEST-NET-1, as httptest.NewRequest uses
	req.Host = req.URL.Host
	rec := httptest.NewRecorder()
	defer func() {
		if recover() != nil {
			status = 0
		}
	}()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// sleep waits d, or less if ctx ends first; it reports whether it waited
// the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// The REST side: POST /api/v1/webhooks, GET and PUT /api/v1/webhooks/{id}.

type webhookJSON struct {
	ID             string              `json:"id"`
	CreatedAt      int64               `json:"createdAt"`
	UpdatedAt      int64               `json:"updatedAt"`
	Livemode       bool                `json:"livemode"`
	FilterTypes    []webhook.EventType `json:"filterTypes"`
	OrganizationID string              `json:"organizationId"`
	URL            string              `json:"url"`
	Name           string              `json:"name"`
	Active         bool                `json:"active"`
	PricingModelID string              `json:"pricingModelId"`
}

func (ep *endpoint) json() webhookJSON {
	return webhookJSON{
		ID: ep.ID, CreatedAt: ep.createdAt, UpdatedAt: ep.updatedAt, FilterTypes: slices.Clone(ep.FilterTypes),
		OrganizationID: organizationID, URL: ep.URL, Name: ep.Name, Active: ep.Active, PricingModelID: ep.PricingModelID,
	}
}

func (f *Fake) endpointOr404(id string) (*endpoint, *apiError) {
	for _, ep := range f.hooks.endpoints {
		if ep.ID == id {
			return ep, nil
		}
	}
	return nil, notFound("Webhook not found")
}

// webhookInput reads the fields common to create and update: url and
// filterTypes (required), name (required on create) and active.
func webhookInput(in obj, create bool) (Webhook, bool, *apiError) {
	var w Webhook
	var err *apiError
	if w.URL, _, err = in.str("url", true); err != nil {
		return w, false, err
	}
	if err := absoluteURL(in.name("url"), w.URL); err != nil {
		return w, false, err
	}
	if w.FilterTypes, err = filterTypes(in); err != nil {
		return w, false, err
	}
	if w.Name, _, err = in.str("name", create); err != nil {
		return w, false, err
	}
	active, hasActive, err := in.boolean("active")
	if err != nil {
		return w, false, err
	}
	w.Active = active || !hasActive
	return w, hasActive, nil
}

// filterTypes reads the required filterTypes array of event types.
func filterTypes(in obj) ([]webhook.EventType, *apiError) {
	arr, err := in.array("filterTypes")
	if err != nil {
		return nil, err
	}
	out := make([]webhook.EventType, 0, len(arr))
	for i, v := range arr {
		s, _ := v.(string)
		if !slices.Contains(knownEventTypes, webhook.EventType(s)) {
			return nil, badRequest("%s[%d]: Invalid enum value", in.name("filterTypes"), i)
		}
		out = append(out, webhook.EventType(s))
	}
	return out, nil
}

// POST /api/v1/webhooks
func (f *Fake) createWebhook(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		in, err := bodyObject(r, "webhook")
		if err != nil {
			return nil, err
		}
		hook, _, err := webhookInput(in, true)
		if err != nil {
			return nil, err
		}
		pm, _, err := in.str("pricingModelId", true)
		if err != nil {
			return nil, err
		}
		if pm != f.st.pm.id {
			return nil, notFound("Pricing model %s not found", pm)
		}
		ep := f.addWebhookLocked(hook)
		return map[string]any{"webhook": ep.json(), "secret": ep.Secret}, nil
	})
}

// GET /api/v1/webhooks/{id}
func (f *Fake) getWebhook(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		ep, err := f.endpointOr404(r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"webhook": ep.json()}, nil
	})
}

// PUT /api/v1/webhooks/{id}. The path's id wins over the body's, as on
// Flowglad; the pricing model cannot change.
func (f *Fake) updateWebhook(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, err := bodyObject(r, "webhook")
		if err != nil {
			return nil, err
		}
		if _, _, err := in.str("id", true); err != nil {
			return nil, err
		}
		hook, hasActive, err := webhookInput(in, false)
		if err != nil {
			return nil, err
		}
		ep, err := f.endpointOr404(r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		ep.URL, ep.FilterTypes, ep.updatedAt = hook.URL, hook.FilterTypes, now
		if hook.Name != "" {
			ep.Name = hook.Name
		}
		if hasActive {
			ep.Active = hook.Active
		}
		return map[string]any{"webhook": ep.json()}, nil
	})
}
