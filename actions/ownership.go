package actions

import (
	"context"
	"errors"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// ownedSubscription returns the customer's subscription with id, deciding ownership from
// billing. Billing lists all of a customer's subscriptions, so Flowglad is asked
// (GET /api/v1/subscriptions/{id}) only when billing does not list the id, which happens
// when billing was read before the subscription was created. A subscription of another
// customer and one that does not exist get the same 403, so ids cannot be probed.
func (s *Service) ownedSubscription(ctx context.Context, b *flowgladapi.Billing, id, what string) (*flowgladapi.Subscription, error) {
	if sub := b.Subscription(id); sub != nil {
		return sub, nil
	}
	body, err := s.client.GetSubscription(ctx, id)
	if errors.Is(err, flowgladapi.ErrNotFound) {
		return nil, errForbidden(what)
	}
	if err != nil {
		return nil, err
	}
	sub, err := flowgladapi.DecodeSubscription(body)
	if err != nil {
		return nil, err
	}
	if sub.CustomerID == "" || sub.CustomerID != b.Customer.ID {
		return nil, errForbidden(what)
	}
	return sub, nil
}

// resolveSubscription picks the subscription an action works on: the given id when there is
// one (which must be the customer's), else the customer's only current subscription.
func (s *Service) resolveSubscription(ctx context.Context, b *flowgladapi.Billing, id string) (*flowgladapi.Subscription, error) {
	if id != "" {
		return s.ownedSubscription(ctx, b, id, "subscription "+id)
	}
	switch len(b.CurrentSubscriptions) {
	case 0:
		return nil, errNoActiveSubscription()
	case 1:
		return &b.CurrentSubscriptions[0], nil
	default:
		return nil, errSubscriptionIDRequired()
	}
}
