package flowgladapitest

import (
	"encoding/json"
	"net/http"
)

// customerOr404 finds the live customer with external id ext.
func (f *Fake) customerOr404(ext string) (*customer, *apiError) {
	if c := f.customerByExternalID(ext); c != nil {
		return c, nil
	}
	return nil, notFound("Customer not found")
}

// GET /api/v1/customers/{externalId}
func (f *Fake) getCustomer(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		c, err := f.customerOr404(r.PathValue("externalId"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"customer": f.customerJSON(c)}, nil
	})
}

// emailAndName reads a customer's email (required, and so non-empty, on
// create) and then its name.
func emailAndName(in obj, emailRequired bool) (email string, hasEmail bool, name string, hasName bool, err *apiError) {
	if email, hasEmail, err = in.str("email", emailRequired); err != nil {
		return "", false, "", false, err
	}
	name, hasName, err = in.str("name", false)
	return email, hasEmail, name, hasName, err
}

// POST /api/v1/customers. A duplicate externalId is 409 CONFLICT. When the
// pricing model has a default product, the new customer is subscribed to
// its default price and the answer carries that subscription, as Flowglad
// does for a free plan.
func (f *Fake) createCustomer(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, err := bodyObject(r, "customer")
		if err != nil {
			return nil, err
		}
		ext, _, err := in.str("externalId", true)
		if err != nil {
			return nil, err
		}
		email, _, name, hasName, err := emailAndName(in, true)
		if err != nil {
			return nil, err
		}
		// The name is required but may be empty, as the spec (and the live server) allow.
		if !hasName {
			return nil, badRequest("%sname: Required", in.path)
		}
		if f.customerByExternalID(ext) != nil {
			return nil, conflict("Customer with externalId %s already exists", ext)
		}
		c := &customer{id: f.newIDLocked("cus"), externalID: ext, email: email, name: name, createdAt: now, updatedAt: now}
		if err := c.applyOptional(in); err != nil {
			return nil, err
		}
		f.st.customers = append(f.st.customers, c)
		data := map[string]any{"customer": f.customerJSON(c)}
		if s := f.subscribeToDefaultLocked(c, now); s != nil {
			data["subscription"] = f.subscriptionJSON(s)
			data["subscriptionItems"] = f.itemsJSON(s.activeItems())
		}
		return map[string]any{"data": data}, nil
	})
}

// subscribeToDefaultLocked gives c a subscription to the default product's
// default price, when there is one and it is a subscription price.
func (f *Fake) subscribeToDefaultLocked(c *customer, now int64) *subscription {
	for _, p := range f.st.pm.products {
		if !p.isDefault {
			continue
		}
		for _, pr := range p.prices {
			if pr.isDefault && pr.typ == PriceSubscription {
				return f.newSubscriptionLocked(f.newIDLocked("sub"), c, []itemSpec{{price: pr, quantity: 1}}, now)
			}
		}
	}
	return nil
}

// applyOptional copies the optional, nullable customer fields of in. Every
// field is validated before any is copied, so a 400 leaves c as it was.
func (c *customer) applyOptional(in obj) *apiError {
	fields := []struct {
		key string
		dst **string
	}{{"logoURL", &c.logoURL}, {"iconURL", &c.iconURL}, {"domain", &c.domain}, {"userId", &c.userID}}
	values := make([]*string, len(fields))
	given := make([]bool, len(fields))
	for i, fd := range fields {
		v, ok, err := in.nullableStr(fd.key)
		if err != nil {
			return err
		}
		values[i], given[i] = v, ok
	}
	v, hasAddr := in.m["billingAddress"]
	var billingAddress json.RawMessage // stays nil for null
	if hasAddr && v != nil {
		addr, _, err := in.object("billingAddress", false)
		if err != nil {
			return err
		}
		a, _, err := addr.object("address", true)
		if err != nil {
			return err
		}
		if _, _, err := a.str("country", true); err != nil {
			return err
		}
		raw, merr := json.Marshal(v)
		if merr != nil {
			return badRequest("billingAddress: %v", merr)
		}
		billingAddress = raw
	}
	for i, fd := range fields {
		if given[i] {
			*fd.dst = values[i]
		}
	}
	if hasAddr {
		c.billingAddress = billingAddress
	}
	return nil
}

// PUT /api/v1/customers/{externalId}
func (f *Fake) updateCustomer(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		in, err := bodyObject(r, "customer")
		if err != nil {
			return nil, err
		}
		c, err := f.customerOr404(r.PathValue("externalId"))
		if err != nil {
			return nil, err
		}
		email, hasEmail, name, hasName, err := emailAndName(in, false)
		if err != nil {
			return nil, err
		}
		if hasEmail && email == "" {
			return nil, badRequest("customer.email: Invalid email")
		}
		if err := c.applyOptional(in); err != nil {
			return nil, err
		}
		if hasEmail {
			c.email = email
		}
		if hasName {
			c.name = name
		}
		c.updatedAt = now
		return map[string]any{"customer": f.customerJSON(c)}, nil
	})
}

// POST /api/v1/customers/{externalId}/archive: cancels the customer's
// current subscriptions and frees the externalId. The body must be JSON
// ({}), as on the live server.
func (f *Fake) archiveCustomer(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(now int64) (any, *apiError) {
		if _, err := parseBody(r, false); err != nil {
			return nil, err
		}
		c, err := f.customerOr404(r.PathValue("externalId"))
		if err != nil {
			return nil, err
		}
		for _, s := range f.currentSubsOf(c) {
			s.cancel(now, "customer_archived")
		}
		c.archived = true
		c.updatedAt = now
		return map[string]any{"customer": f.customerJSON(c)}, nil
	})
}

// GET /api/v1/customers/{externalId}/billing
func (f *Fake) getBilling(w http.ResponseWriter, r *http.Request) {
	base := callOf(r).base
	f.handle(w, r, func(int64) (any, *apiError) {
		c, err := f.customerOr404(r.PathValue("externalId"))
		if err != nil {
			return nil, err
		}
		return f.billingJSON(c, base), nil
	})
}

// GET /api/v1/customers/{externalId}/usage-balances[?subscriptionId=]:
// the balances of the customer's current subscriptions, or of the one
// subscription named, whatever its status. As on the live server, a
// subscriptionId that is not one of the customer's (another customer's, or
// none at all) is 404 NOT_FOUND, the same code as an unknown customer.
func (f *Fake) getUsageBalances(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		ext := r.PathValue("externalId")
		c, err := f.customerOr404(ext)
		if err != nil {
			return nil, err
		}
		subs := f.currentSubsOf(c)
		if only := r.URL.Query().Get("subscriptionId"); only != "" {
			subs = nil
			for _, s := range f.subsOf(c) {
				if s.id == only {
					subs = append(subs, s)
				}
			}
			if subs == nil {
				return nil, notFound("Subscription with id %s not found for customer %s", only, ext)
			}
		}
		out := []usageMeterBalanceJSON{}
		for _, s := range subs {
			out = append(out, f.balancesJSON(s)...)
		}
		return map[string]any{"usageMeterBalances": out}, nil
	})
}

// billingPortalPage stands in for Flowglad's hosted billing portal, so the
// billingPortalUrl in billing leads somewhere.
func (f *Fake) billingPortalPage(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	c := f.customerByID(r.PathValue("customerId"))
	f.mu.Unlock()
	if c == nil {
		writeText(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Billing portal</title><h1>Billing portal (Flowglad fake)</h1><p>Nothing to manage here: this page stands in for Flowglad's hosted portal.</p>"))
}
