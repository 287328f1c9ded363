package flowglad

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/billingread"
)

// FindOrCreateCustomer returns the Flowglad customer, creating it when Flowglad does not
// know it yet (with the Customer's name and email, or Config.LookupCustomer's). It calls
// GET /api/v1/customers/{externalId}, and on 404 NOT_FOUND POST /api/v1/customers.
func (s *Service) FindOrCreateCustomer(ctx context.Context, c Customer) (*flowgladapi.Customer, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	mark := s.creating.Mark()
	body, err := s.client.GetCustomer(ctx, c.ExternalID)
	if err == nil {
		return flowgladapi.DecodeCustomer(body)
	}
	if !isCustomerNotFound(err) {
		return nil, err
	}
	created, err := s.createCustomer(ctx, c, mark)
	if err != nil {
		return nil, err
	}
	if created != nil {
		return created, nil
	}
	// Another request created the customer meanwhile: read what it created.
	body, err = s.client.GetCustomer(ctx, c.ExternalID)
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeCustomer(body)
}

// UpdateCustomerParams are the changes customers/update makes; nil fields are left as they
// are, and at least one must be set.
type UpdateCustomerParams struct {
	// Name, Email and Phone are changed when non-nil. Email must be a valid address.
	Name, Email, Phone *string
	// BillingAddress, a JSON object, replaces the billing address when set: {name?,
	// firstName?, lastName?, email?, phone?, address: {line1, line2, city, state,
	// postal_code, country}}.
	BillingAddress json.RawMessage

	// id and externalID are what a browser's body named (customer.id, externalId): they
	// must be the signed-in customer's. Go callers name the customer by argument.
	id, externalID string
}

func (p UpdateCustomerParams) check(is *issueList) {
	if p.Email != nil && !validEmail(*p.Email) {
		is.rule("customer.email", "must be a valid email address")
	}
	if len(p.BillingAddress) > 0 && p.BillingAddress[0] != '{' {
		is.rule("customer.billingAddress", "must be an object")
	}
	// "Nothing to change" is only news when no member of customer was faulty; issues
	// elsewhere (a browser's externalId) do not hide it.
	if p.Name == nil && p.Email == nil && p.Phone == nil && len(p.BillingAddress) == 0 && !is.within("customer") {
		is.rule("customer", "must change at least one of name, email, phone, billingAddress")
	}
}

// decodeUpdateCustomer decodes and validates a customers/update body:
// {customer: {id?, name?, email?, phone?, billingAddress?}, externalId?}.
func decodeUpdateCustomer(body []byte) (UpdateCustomerParams, error) {
	var p UpdateCustomerParams
	f, err := parseBody(body)
	if err != nil {
		return p, err
	}
	p.externalID, _ = f.str("externalId")
	cust := f.nested("customer", true)
	if cust == nil {
		return p, f.err()
	}
	p.id, _ = cust.str("id")
	if v, ok := cust.str("name"); ok {
		p.Name = &v
	}
	if v, ok := cust.str("email"); ok {
		p.Email = &v
	}
	if v, ok := cust.str("phone"); ok {
		p.Phone = &v
	}
	if _, ok := cust.object("billingAddress"); ok {
		p.BillingAddress = cust.m["billingAddress"]
	}
	return p, f.checked(p)
}

// UpdateCustomer changes the customer's name, email, phone or billing address. It calls
// PUT /api/v1/customers/{externalId} (never retried).
func (s *Service) UpdateCustomer(ctx context.Context, c Customer, p UpdateCustomerParams) (*flowgladapi.Customer, error) {
	if err := validateInput(c, p); err != nil {
		return nil, err
	}
	// A browser may name the customer it means; it must be the signed-in one.
	if p.externalID != "" && p.externalID != c.ExternalID {
		return nil, errForbidden("customer " + p.externalID)
	}
	if p.id != "" {
		b, err := s.billingIndex(ctx, c)
		if err != nil {
			return nil, err
		}
		if b.CustomerID != p.id {
			return nil, errForbidden("customer " + p.id)
		}
	}
	body, err := s.client.UpdateCustomer(ctx, c.ExternalID, flowgladapi.UpdateCustomerParams{
		Name:           p.Name,
		Email:          p.Email,
		Phone:          p.Phone,
		BillingAddress: p.BillingAddress,
	})
	s.wrote(ctx, c.ExternalID, err)
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeCustomer(body)
}

// ArchiveCustomer archives the customer: Flowglad cancels its subscriptions and frees the
// external id. Only c is archived; there is no way to name another customer. It calls
// POST /api/v1/customers/{externalId}/archive (never retried).
func (s *Service) ArchiveCustomer(ctx context.Context, c Customer) (*flowgladapi.Customer, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	body, err := s.client.ArchiveCustomer(ctx, c.ExternalID)
	s.wrote(ctx, c.ExternalID, err)
	if err != nil {
		return nil, err
	}
	return flowgladapi.DecodeCustomer(body)
}

// fetchBilling reads the billing body, creating the customer when Flowglad does not know it
// yet: one call in the steady state, three on a customer's first visit. With an Indexer
// (arg.ix), the narrow index is read in the pass that checks the body.
func (s *Service) fetchBilling(ctx context.Context, arg billingArg) (*flowgladapi.BillingBody, error) {
	body, err := withCustomer(ctx, s, arg.c, true, func() (*flowgladapi.BillingBody, error) {
		var v flowgladapi.BodyVisitor
		if arg.ix != nil {
			v = arg.ix
		}
		if arg.pooled {
			return s.client.GetBillingBodyPooled(ctx, arg.c.ExternalID, v)
		}
		return s.client.GetBillingBodyVisit(ctx, arg.c.ExternalID, v)
	})
	if err == nil && arg.ix != nil {
		arg.ix.Body = body
	}
	return body, err
}

// withCustomer runs call, an operation on the customer; when it fails because Flowglad does
// not know the customer, it creates the customer and runs call once more. That is how a
// customer comes into being on a first visit, whichever operation the visit starts with.
// Flowglad refusing an operation for a missing customer changed nothing, so running a
// write twice cannot duplicate it.
//
// "Flowglad does not know the customer" is never read from text a user can influence (a
// price slug echoed in a message, say): on the customer's own path (billing) a 404
// NOT_FOUND says it; elsewhere a 400 or 404 that mentions a customer is confirmed with GET
// /api/v1/customers/{externalId} before anything is created.
//
// Concurrent first visits create the customer once: a creation in progress is joined, and
// a refusal that raced with a creation (call was sent before the creation finished) is
// answered by running call again, not by creating the customer a second time.
func withCustomer[T any](ctx context.Context, s *Service, c Customer, onCustomerPath bool, call func() (T, error)) (T, error) {
	mark := s.creating.Mark()
	v, err := call()
	if err == nil || !mayBeMissingCustomer(err, onCustomerPath) {
		return v, err
	}
	if s.creating.SucceededSince(ctx, c.ExternalID, mark) {
		return call()
	}
	if !s.customerMissing(ctx, c, err, onCustomerPath) {
		// The confirmation may have seen a customer that another request here created
		// after call was refused.
		if s.creating.SucceededSince(ctx, c.ExternalID, mark) {
			return call()
		}
		return v, err
	}
	if _, err := s.createCustomer(ctx, c, mark); err != nil {
		var zero T
		return zero, err
	}
	return call()
}

// mayBeMissingCustomer reports whether err, from an operation on a customer, is a refusal
// that a missing customer explains: a 404 NOT_FOUND on the customer's own path, a 400 or
// 404 elsewhere. Flowglad changed nothing then, so the operation can run again.
func mayBeMissingCustomer(err error, onCustomerPath bool) bool {
	if onCustomerPath {
		return isCustomerNotFound(err)
	}
	var apiErr *flowgladapi.Error
	return errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusNotFound || apiErr.StatusCode == http.StatusBadRequest)
}

// customerMissing decides whether err, a refusal of an operation on c that
// mayBeMissingCustomer accepts, means Flowglad does not know the customer.
func (s *Service) customerMissing(ctx context.Context, c Customer, err error, onCustomerPath bool) bool {
	if onCustomerPath {
		return true
	}
	var apiErr *flowgladapi.Error
	if !errors.As(err, &apiErr) || !strings.Contains(strings.ToLower(apiErr.Message), "customer") {
		return false
	}
	_, getErr := s.client.GetCustomer(ctx, c.ExternalID)
	return isCustomerNotFound(getErr)
}

// createCustomer creates the Flowglad customer, with an email from c or, when c has none,
// from Config.LookupCustomer. Concurrent creations of one customer share one request (and
// one lookup). It returns the customer created, or nil when another request created it
// first: here after mark (s.creating.Mark(), taken before the caller learnt the customer was
// missing), or on another instance (Flowglad refuses the duplicate, which is success).
func (s *Service) createCustomer(ctx context.Context, c Customer, mark uint64) (*flowgladapi.Customer, error) {
	v, ran, err := s.creating.Do(ctx, c.ExternalID, mark, func(ctx context.Context) (any, error) {
		profile, err := s.profile(ctx, c)
		if err != nil {
			return nil, err
		}
		body, err := s.client.CreateCustomer(ctx, flowgladapi.CreateCustomerParams{
			ExternalID: c.ExternalID,
			Email:      profile.Email,
			Name:       profile.Name,
		})
		var apiErr *flowgladapi.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict {
			return (*flowgladapi.Customer)(nil), nil
		}
		if err != nil {
			return nil, err
		}
		// Nothing of a customer Flowglad did not know can be cached, and the billing read
		// that found it missing must stay cacheable: no invalidation here.
		return flowgladapi.DecodeCustomer(body)
	})
	if err != nil || !ran {
		return nil, asPanicError(err)
	}
	return v.(*flowgladapi.Customer), nil
}

// profile returns the name and email the customer is created with. The email is checked
// here, and only here: it matters to Flowglad only at creation. When there is no valid
// one, the reason and the fix are logged (the answer to a browser is a generic 500), with
// the external id and never the email or name.
func (s *Service) profile(ctx context.Context, c Customer) (Customer, error) {
	var e *Error
	switch {
	case c.Email != "" && validEmail(c.Email):
		return c, nil
	case c.Email != "":
		e = errBadEmail(c.ExternalID, "Customer.Email is not a valid address: fix the address the application stores")
	case s.lookup == nil:
		e = errNoEmail(c.ExternalID)
	default:
		found, err := s.lookup(ctx, c.ExternalID)
		switch {
		case err != nil:
			e = errLookup(err)
		case !validEmail(found.Email):
			e = errBadEmail(c.ExternalID, "Config.LookupCustomer returned no valid email")
		default:
			return Customer{ExternalID: c.ExternalID, Name: found.Name, Email: found.Email}, nil
		}
	}
	// Logged here so that every caller's path (the route, the middleware, Go code) leaves
	// the fix in the log; e's text holds no email or name (a lookup's error is named by
	// its type).
	s.logger.LogAttrs(ctx, slog.LevelError, "flowglad: the Flowglad customer cannot be created",
		slog.String("customer", c.ExternalID), slog.String("error", e.Message))
	return c, e
}

// asPanicError returns err, with a panic recovered from the creation (it runs on a goroutine
// of the group's: billingread.PanicError) made the package's *panicError, which the route's
// answer and the logs know.
func asPanicError(err error) error {
	var pe *billingread.PanicError
	if errors.As(err, &pe) {
		return &panicError{value: pe.Value, stack: pe.Stack}
	}
	return err
}

// isCustomerNotFound reports whether Flowglad said the customer does not exist, for a read on
// the customer's own path: a 404 with code NOT_FOUND. A 404 without a code is an unknown
// route (a wrong base URL), not a missing customer.
func isCustomerNotFound(err error) bool {
	var apiErr *flowgladapi.Error
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && apiErr.Code == "NOT_FOUND"
}

// validEmail accepts a bare address (no display name) whose domain has a dot and a top-level
// domain of at least two letters, as Flowglad's validation does.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && len(domain)-dot-1 >= 2
}
