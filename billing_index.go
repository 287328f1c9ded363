package flowglad

import (
	"encoding/json"
	"errors"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// billingIndex is the narrow view of a billing body that actions check ownership and
// choose subscriptions with: the customer's id and each subscription's id, customer and
// status, with the subscription's bytes. Reading it walks the body once without decoding
// the rest (pricing model, invoices, feature items), which the typed view would.
type billingIndex struct {
	customerID string
	// subscriptions are billing's "subscriptions": all of them, canceled ones included.
	subscriptions []subscriptionRef
	// current are "currentSubscriptions", newest first.
	current []subscriptionRef
	// primary is "currentSubscription", nil when absent or null.
	primary *subscriptionRef
}

// subscriptionRef is what an action needs of a subscription, and its bytes.
type subscriptionRef struct {
	ID, CustomerID, Status string
	raw                    []byte
}

// errBillingShape is the failure of a billing body whose members have the wrong JSON types.
var errBillingShape = errors.New("flowglad: billing: a member has the wrong type")

func indexBilling(body *flowgladapi.BillingBody) (*billingIndex, error) {
	x := &billingIndex{}
	bad := false
	if v := body.Member("customer"); v != nil && v[0] != 'n' {
		x.customerID, bad = stringMember(v, "id")
	}
	if v := body.Member("subscriptions"); v != nil && !bad {
		x.subscriptions, bad = subscriptionRefs(v)
	}
	if v := body.Member("currentSubscriptions"); v != nil && !bad {
		x.current, bad = subscriptionRefs(v)
	}
	if v := body.Member("currentSubscription"); v != nil && v[0] != 'n' && !bad {
		ref, isBad := subscriptionRefOf(v)
		x.primary, bad = &ref, isBad
	}
	if bad {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, errBillingShape)
	}
	return x, nil
}

// stringMember reads the string member key of the object v; bad when v is not an object or
// the member is present with another type than string or null.
func stringMember(v []byte, key string) (s string, bad bool) {
	if v[0] != '{' {
		return "", true
	}
	m := jsonscan.Get(v, key)
	if m == nil || m[0] == 'n' {
		return "", false
	}
	s, ok := jsonscan.String(m)
	return s, !ok
}

// subscriptionRefs reads an array of subscriptions, walking each once.
func subscriptionRefs(v []byte) (refs []subscriptionRef, bad bool) {
	var ref subscriptionRef
	ok := jsonscan.ObjectsEach(v, func(key, m []byte) bool {
		bad = !ref.read(key, m)
		return !bad
	}, func(elem []byte) bool {
		ref.raw = elem
		refs = append(refs, ref)
		ref = subscriptionRef{}
		return true
	})
	return refs, bad || !ok
}

func subscriptionRefOf(v []byte) (ref subscriptionRef, bad bool) {
	if v[0] != '{' {
		return ref, true
	}
	ref.raw = v
	jsonscan.ObjectEach(v, func(key, m []byte) bool {
		bad = !ref.read(key, m)
		return !bad
	})
	return ref, bad
}

// read records the member key of a subscription when it is one the index keeps; false when
// that member has the wrong type.
func (ref *subscriptionRef) read(key, m []byte) bool {
	var dst *string
	switch {
	case jsonscan.KeyIs(key, "id"):
		dst = &ref.ID
	case jsonscan.KeyIs(key, "customerId"):
		dst = &ref.CustomerID
	case jsonscan.KeyIs(key, "status"):
		dst = &ref.Status
	default:
		return true
	}
	if m[0] == 'n' {
		return true
	}
	s, ok := jsonscan.String(m)
	*dst = s
	return ok
}

// subscription returns the customer's subscription with id, current or not, or nil.
func (x *billingIndex) subscription(id string) *subscriptionRef {
	if id == "" {
		return nil
	}
	for _, list := range [][]subscriptionRef{x.subscriptions, x.current} {
		for i := range list {
			if list[i].ID == id {
				return &list[i]
			}
		}
	}
	if x.primary != nil && x.primary.ID == id {
		return x.primary
	}
	return nil
}

// currentByID returns the current subscription with id, or nil.
func (x *billingIndex) currentByID(id string) *subscriptionRef {
	for i := range x.current {
		if x.current[i].ID == id {
			return &x.current[i]
		}
	}
	return nil
}

// decode decodes the whole subscription, for a Go caller's typed result.
func (r *subscriptionRef) decode() (*flowgladapi.Subscription, error) {
	var sub flowgladapi.Subscription
	if err := json.Unmarshal(r.raw, &sub); err != nil {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, err)
	}
	return &sub, nil
}
