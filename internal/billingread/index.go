package billingread

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/internal/jsonscan"
)

// Index is the narrow view of a billing body that ownership checks and subscription choices
// read: the customer's id and each subscription's id, customer and status, with the
// subscription's bytes. Reading it walks the body once without decoding the rest (pricing
// model, invoices, feature items), which the typed view would. It is shared by every reader
// of one body: read it, never modify it.
type Index struct {
	// CustomerID is billing's customer.id ("" when absent or null).
	CustomerID string
	// Subscriptions are billing's "subscriptions": all of them, canceled ones included.
	Subscriptions []SubscriptionRef
	// Current are "currentSubscriptions", newest first.
	Current []SubscriptionRef
	// Primary is "currentSubscription", nil when absent or null.
	Primary *SubscriptionRef
}

// SubscriptionRef is what a reader of the index needs of a subscription (its id, customer
// and status), and the subscription's bytes as Flowglad sent them.
type SubscriptionRef struct {
	ID, CustomerID, Status string
	// Raw is the subscription object's bytes, relayed as they are or decoded by Decode.
	Raw []byte
}

// errBillingShape is the failure of a billing body whose members have the wrong JSON types.
var errBillingShape = errors.New("flowglad: billing: a member has the wrong type")

// indexBilling reads the narrow index of body, in one walk of the members it keeps.
func indexBilling(body *flowgladapi.BillingBody) (*Index, error) {
	x := &Index{}
	bad := false
	if v := body.Member("customer"); v != nil && v[0] != 'n' {
		x.CustomerID, bad = stringMember(v, "id")
	}
	if v := body.Member("subscriptions"); v != nil && !bad {
		x.Subscriptions, bad = SubscriptionRefs(v)
	}
	if v := body.Member("currentSubscriptions"); v != nil && !bad {
		x.Current, bad = SubscriptionRefs(v)
	}
	if v := body.Member("currentSubscription"); v != nil && v[0] != 'n' && !bad {
		ref, isBad := SubscriptionRefOf(v)
		x.Primary, bad = &ref, isBad
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

// SubscriptionRefs reads an array of subscriptions, walking each once.
func SubscriptionRefs(v []byte) (refs []SubscriptionRef, bad bool) {
	var rr refReader
	ok := jsonscan.ObjectsEach(v, func(key, m []byte) bool {
		bad = !rr.read(key, m)
		return !bad
	}, func(elem []byte) bool {
		refs = append(refs, rr.ref(elem))
		return true
	})
	return refs, bad || !ok
}

func SubscriptionRefOf(v []byte) (ref SubscriptionRef, bad bool) {
	if v[0] != '{' {
		return ref, true
	}
	var rr refReader
	jsonscan.ObjectEach(v, func(key, m []byte) bool {
		bad = !rr.read(key, m)
		return !bad
	})
	return rr.ref(v), bad
}

// refReader gathers the members of one subscription that a SubscriptionRef keeps, as raw
// JSON strings, and makes their Go strings once the subscription is read: in one
// allocation for the three, where a string each cost three.
type refReader struct {
	id, customerID, status []byte // raw JSON strings (quotes included); nil when absent or null
}

// read records the member key of a subscription when it is one the index keeps; false when
// that member has the wrong type. Of a repeated key the last string counts (a null does
// not replace an earlier string).
func (rr *refReader) read(key, m []byte) bool {
	var dst *[]byte
	switch {
	case jsonscan.KeyIs(key, "id"):
		dst = &rr.id
	case jsonscan.KeyIs(key, "customerId"):
		dst = &rr.customerID
	case jsonscan.KeyIs(key, "status"):
		dst = &rr.status
	default:
		return true
	}
	switch m[0] {
	case 'n':
		return true
	case '"':
		*dst = m
		return true
	}
	*dst = nil
	return false
}

// ref returns the subscription whose bytes are raw, with the strings read, and makes rr
// ready for the next one.
func (rr *refReader) ref(raw []byte) SubscriptionRef {
	ref := SubscriptionRef{Raw: raw}
	raws := [3][]byte{rr.id, rr.customerID, rr.status}
	dsts := [3]*string{&ref.ID, &ref.CustomerID, &ref.Status}
	*rr = refReader{}
	// Strings without escapes are the bytes between their quotes (as jsonscan.String
	// reads them): they share one string. An escaped one is unquoted on its own.
	var buf [128]byte
	joined := buf[:0]
	for i, r := range raws {
		if len(r) < 2 {
			continue
		}
		if bytes.IndexByte(r, '\\') >= 0 {
			*dsts[i], _ = jsonscan.String(r)
			raws[i] = nil
			continue
		}
		joined = append(joined, r[1:len(r)-1]...)
	}
	all := string(joined)
	for i, r := range raws {
		if len(r) < 2 {
			continue
		}
		n := len(r) - 2
		*dsts[i], all = all[:n], all[n:]
	}
	return ref
}

// Subscription returns the customer's subscription with id, current or not, or nil.
func (x *Index) Subscription(id string) *SubscriptionRef {
	if id == "" {
		return nil
	}
	for _, list := range [][]SubscriptionRef{x.Subscriptions, x.Current} {
		for i := range list {
			if list[i].ID == id {
				return &list[i]
			}
		}
	}
	if x.Primary != nil && x.Primary.ID == id {
		return x.Primary
	}
	return nil
}

// CurrentByID returns the current subscription with id, or nil.
func (x *Index) CurrentByID(id string) *SubscriptionRef {
	for i := range x.Current {
		if x.Current[i].ID == id {
			return &x.Current[i]
		}
	}
	return nil
}

// Decode decodes the whole subscription, for a Go caller's typed result; bytes that are
// not a subscription are Flowglad's fault (flowgladapi.ErrInvalidResponse).
func (r *SubscriptionRef) Decode() (*flowgladapi.Subscription, error) {
	var sub flowgladapi.Subscription
	if err := json.Unmarshal(r.Raw, &sub); err != nil {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, err)
	}
	return &sub, nil
}

// An Indexer reads the Index of a billing body in the pass that checks it
// (flowgladapi.Client.GetBillingBodyVisit), rather than in a walk of its own afterwards. Set
// Body to the body it read once the read returns it: only that body's entry may take the
// index (Entry.SetIndexFrom). An Indexer is used for one read at a time.
type Indexer struct {
	// Body is the body the visit read, set by the caller from the read's answer.
	Body *flowgladapi.BillingBody

	x   Index
	in  int            // idx* being read, or idxNone
	bad [idxCount]bool // a member of the wrong type; a repeated key starts over (the last counts)
	ref refReader
}

const (
	idxCustomer = iota
	idxSubscriptions
	idxCurrent
	idxPrimary
	idxCount
	idxNone = -1
)

// Start implements flowgladapi.BodyVisitor: a body is about to be checked (again).
func (ix *Indexer) Start() { *ix = Indexer{in: idxNone} }

// Descend implements flowgladapi.BodyVisitor: the members the index keeps are read.
func (ix *Indexer) Descend(k []byte) bool {
	switch {
	case jsonscan.KeyIs(k, "customer"):
		ix.in, ix.x.CustomerID = idxCustomer, ""
	case jsonscan.KeyIs(k, "subscriptions"):
		ix.in, ix.x.Subscriptions = idxSubscriptions, nil
	case jsonscan.KeyIs(k, "currentSubscriptions"):
		ix.in, ix.x.Current = idxCurrent, nil
	case jsonscan.KeyIs(k, "currentSubscription"):
		ix.in, ix.x.Primary = idxPrimary, nil
	default:
		ix.in = idxNone
		return false
	}
	ix.bad[ix.in], ix.ref = false, refReader{}
	return true
}

// Field implements flowgladapi.BodyVisitor.
func (ix *Indexer) Field(k, v []byte) {
	switch {
	case ix.in == idxCustomer:
		if jsonscan.KeyIs(k, "id") { // the last "id" counts, as jsonscan.Get reads it
			s, ok := "", true
			if v[0] != 'n' {
				s, ok = jsonscan.String(v)
			}
			ix.x.CustomerID, ix.bad[idxCustomer] = s, !ok
		}
	case !ix.ref.read(k, v):
		ix.bad[ix.in] = true
	}
}

// Element implements flowgladapi.BodyVisitor.
func (ix *Indexer) Element(e []byte) {
	if e[0] != '{' {
		ix.bad[ix.in] = true
		return
	}
	switch ix.in {
	case idxSubscriptions:
		ix.x.Subscriptions = append(ix.x.Subscriptions, ix.ref.ref(e))
	case idxCurrent:
		ix.x.Current = append(ix.x.Current, ix.ref.ref(e))
	default:
		ix.ref = refReader{}
	}
}

// Member implements flowgladapi.BodyVisitor.
func (ix *Indexer) Member(_, v []byte) {
	switch ix.in {
	case idxCustomer:
		if v[0] != '{' && v[0] != 'n' {
			ix.bad[idxCustomer] = true
		}
	case idxSubscriptions, idxCurrent:
		if v[0] != '[' && v[0] != 'n' {
			ix.bad[ix.in] = true
		}
	case idxPrimary:
		switch v[0] {
		case '{':
			ref := ix.ref.ref(v)
			ix.x.Primary = &ref
		case 'n':
		default:
			ix.bad[idxPrimary] = true
		}
	}
	ix.in = idxNone
}

// index returns what the visit read: the Index indexBilling would read of the same body.
func (ix *Indexer) index() (*Index, error) {
	for _, bad := range ix.bad {
		if bad {
			return nil, errors.Join(flowgladapi.ErrInvalidResponse, errBillingShape)
		}
	}
	x := ix.x
	return &x, nil
}
