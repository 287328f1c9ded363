package flowglad

import (
	"context"
	"errors"
	"net/http"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// ownedSubscription returns the customer's subscription with id, deciding ownership from
// billing. Billing lists all of a customer's subscriptions, so Flowglad is asked
// (GET /api/v1/subscriptions/{id}) only when billing does not list the id, which happens
// when billing was read before the subscription was created. A subscription of another
// customer and one that does not exist get the same 403, so ids cannot be probed. "." and
// ".." are no Flowglad id (as a path segment they would reach another endpoint): 403
// without asking.
func (s *Service) ownedSubscription(ctx context.Context, b *billingIndex, id string) (*subscriptionRef, error) {
	if sub := b.Subscription(id); sub != nil {
		return sub, nil
	}
	if isDotSegment(id) {
		return nil, errForbidden("subscription " + id)
	}
	body, err := s.client.GetSubscription(ctx, id)
	if errors.Is(err, flowgladapi.ErrNotFound) {
		return nil, errForbidden("subscription " + id)
	}
	if err != nil {
		return nil, err
	}
	sub, err := flowgladapi.DecodeSubscription(body)
	if err != nil {
		return nil, err
	}
	if sub.CustomerID == "" || sub.CustomerID != b.CustomerID {
		return nil, errForbidden("subscription " + id)
	}
	return &subscriptionRef{ID: sub.ID, CustomerID: sub.CustomerID, Status: sub.Status, Raw: sub.Raw}, nil
}

// customersSubscription reads billing and returns the customer's subscription with id
// (403 when it is not the customer's).
func (s *Service) customersSubscription(ctx context.Context, c Customer, id string) (*subscriptionRef, error) {
	b, err := s.billingIndex(ctx, c)
	if err != nil {
		return nil, err
	}
	return s.ownedSubscription(ctx, b, id)
}

// subscriptionStatus reads billing and returns the status of the customer's subscription
// with id (403 when it is not the customer's): what the cancel and a checkout for a
// subscription check. The billing it reads is done with before it returns (nothing of it
// is returned: the status is a string of the index's own), so the read may go into a
// pooled buffer (billingReads.loadReleased).
func (s *Service) subscriptionStatus(ctx context.Context, c Customer, id string) (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	e, err := s.billing.loadReleased(ctx, c, true)
	if err != nil {
		return "", err
	}
	defer e.Done(ctx)
	b, err := e.Index()
	if err != nil {
		return "", err
	}
	sub, err := s.ownedSubscription(ctx, b, id)
	if err != nil {
		return "", err
	}
	return sub.Status, nil
}

// resolveSubscription picks the subscription an action works on: the given id when there is
// one (which must be the customer's), else the customer's only current subscription.
func (s *Service) resolveSubscription(ctx context.Context, b *billingIndex, id string) (*subscriptionRef, error) {
	if id != "" {
		return s.ownedSubscription(ctx, b, id)
	}
	switch len(b.Current) {
	case 0:
		return nil, errNoActiveSubscription()
	case 1:
		return &b.Current[0], nil
	default:
		return nil, errSubscriptionIDRequired()
	}
}

// subscriptionFor reads billing and returns the id of the subscription an action works on:
// the given one (which must be the customer's) or the customer's only current one.
func (s *Service) subscriptionFor(ctx context.Context, c Customer, id string) (string, error) {
	return withFreshBilling(ctx, s, c, func(b *billingIndex) (string, error) {
		sub, err := s.resolveSubscription(ctx, b, id)
		if err != nil {
			return "", err
		}
		return sub.ID, nil
	})
}

// withFreshBilling runs decide on the customer's billing. A refusal decided from billing
// alone (no current subscription, several, not a current one: errFromBilling) may rest on
// billing read before the customer changed (a subscription created by a checkout, on
// another instance, or by this request's own handler after a gate read billing): when that
// billing came from a cache or from earlier in the request, it is read again from Flowglad,
// once, and decide runs on it. Other refusals (an id that is not the customer's, already
// confirmed with Flowglad) stand at once.
func withFreshBilling[T any](ctx context.Context, s *Service, c Customer, decide func(*billingIndex) (T, error)) (T, error) {
	b, kept, err := s.billingIndexFrom(ctx, c)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := decide(b)
	if err == nil || !kept || !errors.Is(err, errFromBilling) {
		return v, err
	}
	_ = s.billing.invalidate(ctx, c.ExternalID)
	if b, err = s.billingIndex(ctx, c); err != nil {
		var zero T
		return zero, err
	}
	return decide(b)
}

// currentSubscription picks the subscription a usage event is recorded on: the given id,
// which must be one of the customer's current subscriptions, else billing's primary current
// subscription.
func currentSubscription(b *billingIndex, id string) (string, error) {
	if id == "" {
		if b.Primary == nil {
			return "", errNoActiveSubscription()
		}
		return b.Primary.ID, nil
	}
	if b.CurrentByID(id) == nil {
		// Another customer's subscription, an unknown one and one of this customer's that
		// has ended get the same answer.
		return "", &Error{
			Status:  http.StatusForbidden,
			Code:    CodeForbidden,
			Message: "subscription " + clip(id) + " is not a current subscription of the signed-in customer",
			Err:     errFromBilling,
		}
	}
	return id, nil
}
