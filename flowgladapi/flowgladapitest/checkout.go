package flowgladapitest

import (
	"fmt"
	"html/template"
	"net/http"
)

// POST /api/v1/checkout-sessions
func (f *Fake) createCheckoutSession(w http.ResponseWriter, r *http.Request) {
	base := callOf(r).base
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, err := bodyObject(r, "checkoutSession")
		if err != nil {
			return nil, err
		}
		cs, err := f.newCheckoutSessionLocked(in, now)
		if err != nil {
			return nil, err
		}
		cs.url = f.checkoutURL(base, cs.id)
		f.st.sessions = append(f.st.sessions, cs)
		return map[string]any{"checkoutSession": f.checkoutSessionJSON(cs), "url": cs.url}, nil
	})
}

// newCheckoutSessionLocked validates in and builds an open session (not yet
// stored).
func (f *Fake) newCheckoutSessionLocked(in obj, now int64) (*checkoutSession, *apiError) {
	typ, _, err := in.str("type", true)
	if err != nil {
		return nil, err
	}
	if typ != CheckoutProduct && typ != CheckoutAddPaymentMethod && typ != CheckoutActivateSubscription {
		return nil, badRequest("checkoutSession.type: Invalid discriminator value. Expected 'product' | 'activate_subscription' | 'add_payment_method'")
	}
	cs := &checkoutSession{typ: typ, status: "open", quantity: 1, createdAt: now, updatedAt: now, expires: now + checkoutExpiry.Milliseconds()}
	for _, k := range []string{"successUrl", "cancelUrl"} {
		u, _, err := in.str(k, true)
		if err != nil {
			return nil, err
		}
		if err := absoluteURL("checkoutSession."+k, u); err != nil {
			return nil, err
		}
		if k == "successUrl" {
			cs.successURL = u
		} else {
			cs.cancelURL = u
		}
	}
	if cs.outputMetadata, err = in.metadata("outputMetadata", true); err != nil {
		return nil, err
	}
	if name, ok, err := in.str("outputName", false); err != nil {
		return nil, err
	} else if ok {
		cs.outputName = ptr(name)
	}
	if cs.preserveAnchor, _, err = in.boolean("preserveBillingCycleAnchor"); err != nil {
		return nil, err
	}

	anonymous, _, err := in.boolean("anonymous")
	if err != nil {
		return nil, err
	}
	if typ != CheckoutProduct || !anonymous {
		ext, _, err := in.str("customerExternalId", true)
		if err != nil {
			return nil, err
		}
		if cs.cust = f.customerByExternalID(ext); cs.cust == nil {
			return nil, notFound("Customer with externalId %s not found", ext)
		}
	} else if v, ok := in.m["customerExternalId"]; ok && v != nil {
		return nil, badRequest("checkoutSession.customerExternalId: must be null for an anonymous session")
	}

	switch typ {
	case CheckoutProduct:
		key, err := in.exactlyOne("priceId", "priceSlug")
		if err != nil {
			return nil, badRequest("Either priceId or priceSlug must be provided (exactly one)")
		}
		ref, _, err := in.str(key, true)
		if err != nil {
			return nil, err
		}
		cs.price, err = f.resolvePriceRef(key, ref)
		if err != nil {
			return nil, err
		}
		if cs.price.typ == PriceUsage {
			return nil, badRequest("Price %s is a usage price and cannot be bought through checkout", cs.price.id)
		}
		q, ok, err := in.integer("quantity", false, 1)
		if err != nil {
			return nil, err
		}
		if ok {
			cs.quantity = q
		}
	case CheckoutAddPaymentMethod, CheckoutActivateSubscription:
		target, ok, err := in.str("targetSubscriptionId", typ == CheckoutActivateSubscription)
		if err != nil {
			return nil, err
		}
		if ok {
			if cs.target, err = f.subOr404(target); err != nil {
				return nil, err
			}
			if cs.target.cust != cs.cust {
				return nil, badRequest("Subscription %s does not belong to customer %s", target, cs.cust.externalID)
			}
		}
		auto, hasAuto, err := in.boolean("automaticallyUpdateSubscriptions")
		if err != nil && in.m["automaticallyUpdateSubscriptions"] != nil {
			return nil, err
		}
		if hasAuto {
			cs.autoUpdate = ptr(auto)
		}
		if typ == CheckoutActivateSubscription && cs.autoUpdate == nil {
			cs.autoUpdate = ptr(false)
		}
		if typ == CheckoutActivateSubscription {
			// The subscription's priceId: its current first item's price,
			// not the price it started on.
			cs.price = f.priceByID(cs.target.priceID())
		}
	}
	cs.id = f.newIDLocked("cs")
	return cs, nil
}

// CompleteCheckout completes the open checkout session id as if the
// customer had paid on the hosted page, and returns the URL the customer
// would be sent to (the session's successUrl):
//
//   - product, subscription price: a current renewing subscription of the
//     customer moves to the price (its items are replaced; a scheduled
//     cancellation is lifted); without one, a new subscription is created,
//     replacing a free plan;
//   - product, single payment price: a paid purchase and its paid invoice;
//   - add_payment_method: a new default card, set as the default payment
//     method of the target subscription (or of every current subscription
//     when automaticallyUpdateSubscriptions is true);
//   - activate_subscription: a new default card, and the target
//     subscription becomes active.
//
// Completing a session that already succeeded does nothing.
func (f *Fake) CompleteCheckout(id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.notifyLocked(f.snapshotLocked())
	cs := f.sessionByID(id)
	if cs == nil {
		return "", fmt.Errorf("flowgladapitest: checkout session %q not found", id)
	}
	if cs.status == "succeeded" {
		return cs.successURL, nil
	}
	if cs.status != "open" {
		return "", fmt.Errorf("flowgladapitest: checkout session %q is %s", id, cs.status)
	}
	now := f.now()
	f.completeLocked(cs, now)
	cs.status, cs.updatedAt = "succeeded", now
	return cs.successURL, nil
}

func (f *Fake) sessionByID(id string) *checkoutSession {
	for _, cs := range f.st.sessions {
		if cs.id == id {
			return cs
		}
	}
	return nil
}

func (f *Fake) completeLocked(cs *checkoutSession, now int64) {
	c := cs.cust
	if c == nil {
		// An anonymous session has nobody to attach anything to.
		return
	}
	switch cs.typ {
	case CheckoutProduct:
		spec := []itemSpec{{price: cs.price, quantity: cs.quantity}}
		if cs.price.typ == PriceSinglePayment {
			pu := &purchase{id: f.newIDLocked("pur"), cust: c, price: cs.price, name: productName(cs.price), quantity: cs.quantity, status: "paid", createdAt: now}
			if cs.outputName != nil {
				pu.name = *cs.outputName
			}
			c.purchases = append(c.purchases, pu)
			cs.purchase = pu
			cs.invoice = f.paidInvoiceLocked(c, nil, pu, now)
			cs.result = pu.id
			return
		}
		for _, s := range f.currentSubsOf(c) {
			if s.renews {
				f.replaceItemsLocked(s, spec, now)
				if s.status == StatusCancellationScheduled {
					s.status, s.cancelScheduledAt, s.cancellationReason = StatusActive, nil, nil
				}
				if cs.outputName != nil {
					s.name = *cs.outputName
				}
				if cs.price.unitPrice > 0 {
					f.paidInvoiceLocked(c, s, nil, now)
				}
				cs.result = s.id
				return
			}
		}
		s := f.newSubscriptionLocked(f.newIDLocked("sub"), c, spec, now)
		if cs.price.trialDays > 0 {
			s.status, s.trialEnd = StatusTrialing, ptr(addInterval(now, "day", cs.price.trialDays))
		}
		if cs.outputName != nil {
			s.name = *cs.outputName
		}
		s.metadata = cs.outputMetadata
		f.replaceFreePlansLocked(c, s, now)
		if cs.price.unitPrice > 0 {
			f.paidInvoiceLocked(c, s, nil, now)
		}
		cs.result = s.id
	case CheckoutAddPaymentMethod:
		pm := f.addCardLocked(c, now)
		switch {
		case cs.target != nil:
			cs.target.defaultPM = ptr(pm.id)
		case cs.autoUpdate != nil && *cs.autoUpdate:
			for _, s := range f.currentSubsOf(c) {
				s.defaultPM = ptr(pm.id)
			}
		}
		cs.result = pm.id
	case CheckoutActivateSubscription:
		pm := f.addCardLocked(c, now)
		s := cs.target
		s.defaultPM = ptr(pm.id)
		s.status, s.trialEnd, s.canceledAt, s.cancelScheduledAt = StatusActive, nil, nil, nil
		s.updatedAt = now
		cs.result = s.id
	}
}

func (f *Fake) addCardLocked(c *customer, now int64) *paymentMethod {
	// addPaymentMethodLocked only fails on a bad type or a reused id.
	pm, _ := f.addPaymentMethodLocked(c, PaymentMethod{Default: true}, now)
	return pm
}

// paidInvoiceLocked records a paid invoice for a subscription's current
// items or for a purchase.
func (f *Fake) paidInvoiceLocked(c *customer, s *subscription, pu *purchase, now int64) *invoice {
	is := Invoice{}
	if s != nil {
		is.SubscriptionID = s.id
	} else {
		is.PurchaseID = pu.id
	}
	// addInvoiceLocked only fails on inconsistent input, which the callers
	// rule out.
	inv, _ := f.addInvoiceLocked(c, is, now)
	// The fake keeps no payment records; the payment that settled the invoice is known by
	// its id, for payment.succeeded webhooks.
	inv.paymentID = f.newIDLocked("pym")
	return inv
}

var checkoutTemplate = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Checkout</title><link rel="icon" href="data:,">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{font-size:1rem;padding:.6rem 1.2rem}</style></head>
<body>
<h1>Checkout</h1>
<p id="checkout-summary">{{.Summary}}</p>
{{if .Open}}
<form method="post" action="/checkout/{{.ID}}/complete">
<button type="submit" id="complete-checkout">Complete checkout</button>
</form>
{{else}}
<p id="checkout-status">This checkout session is {{.Status}}.</p>
{{end}}
<p><a id="cancel-checkout" href="{{.CancelURL}}">Cancel</a></p>
<p><small>Flowglad fake checkout: no payment is taken.</small></p>
</body>
</html>
`))

// GET /checkout/{id}: the hosted checkout page.
func (f *Fake) checkoutPage(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	cs := f.sessionByID(r.PathValue("id"))
	var data struct {
		ID, Summary, Status, CancelURL string
		Open                           bool
	}
	if cs != nil {
		data.ID, data.Status, data.CancelURL, data.Open = cs.id, cs.status, cs.cancelURL, cs.status == "open"
		data.Summary = cs.summary()
	}
	f.mu.Unlock()
	if cs == nil {
		writeText(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = checkoutTemplate.Execute(w, data)
}

func (cs *checkoutSession) summary() string {
	switch cs.typ {
	case CheckoutAddPaymentMethod:
		return "Add a payment method."
	case CheckoutActivateSubscription:
		return "Activate your subscription."
	}
	p := cs.price
	amount := fmt.Sprintf("$%d.%02d", p.unitPrice*cs.quantity/100, p.unitPrice*cs.quantity%100)
	what := productName(p)
	if cs.quantity > 1 {
		what = fmt.Sprintf("%d × %s", cs.quantity, what)
	}
	if p.typ == PriceSubscription {
		return fmt.Sprintf("%s: %s per %s.", what, amount, p.interval)
	}
	return fmt.Sprintf("%s: %s.", what, amount)
}

// POST /checkout/{id}/complete: completes the session and sends the
// browser to its successUrl.
func (f *Fake) completeCheckoutPage(w http.ResponseWriter, r *http.Request) {
	to, err := f.CompleteCheckout(r.PathValue("id"))
	if err != nil {
		f.mu.Lock()
		found := f.sessionByID(r.PathValue("id")) != nil
		f.mu.Unlock()
		if !found {
			writeText(w, http.StatusNotFound, "Not Found")
			return
		}
		writeText(w, http.StatusConflict, err.Error())
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
