package actions

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// ValidateCustomer checks what an authenticator returned: a non-empty external id (after
// trimming) and a valid email address. The error names the faulty field but never repeats
// its value, which may be personal data.
func ValidateCustomer(c Customer) error {
	var missing []string
	if strings.TrimSpace(c.ExternalID) == "" {
		missing = append(missing, "ExternalID is empty")
	}
	if !validEmail(c.Email) {
		missing = append(missing, "Email is not a valid address")
	}
	if len(missing) == 0 {
		return nil
	}
	return &Error{
		Status:  http.StatusInternalServerError,
		Code:    CodeInvalidCustomer,
		Message: "the authenticator returned an invalid customer: " + strings.Join(missing, ", "),
	}
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

// CustomerResult is the data of customers/find-or-create and customers/update.
type CustomerResult struct {
	// Customer is Flowglad's customer object, unchanged.
	Customer json.RawMessage `json:"customer"`
}

// FindOrCreateCustomer returns the Flowglad customer, creating it when it does not exist
// yet. It calls GET /api/v1/customers/{externalId}, and on 404 NOT_FOUND POST
// /api/v1/customers.
func (s *Service) FindOrCreateCustomer(ctx context.Context, c Customer) (*CustomerResult, error) {
	body, err := s.client.GetCustomer(ctx, c.ExternalID)
	if err == nil {
		return unwrapCustomer(body)
	}
	if !isCustomerNotFound(err) {
		return nil, err
	}
	created, err := s.client.CreateCustomer(ctx, flowgladapi.CreateCustomerParams{
		ExternalID: c.ExternalID,
		Email:      c.Email,
		Name:       c.Name,
	})
	var apiErr *flowgladapi.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == 409 {
		// Another request created the customer meanwhile: read what it created.
		body, err := s.client.GetCustomer(ctx, c.ExternalID)
		if err != nil {
			return nil, err
		}
		return unwrapCustomer(body)
	}
	if err != nil {
		return nil, err
	}
	s.changed(ctx, c.ExternalID)
	return unwrapCustomer(created)
}

// unwrapCustomer takes the customer out of a {customer, ...} body.
func unwrapCustomer(body []byte) (*CustomerResult, error) {
	var v CustomerResult
	if err := json.Unmarshal(body, &v); err != nil || len(v.Customer) == 0 || v.Customer[0] != '{' {
		return nil, errors.Join(flowgladapi.ErrInvalidResponse, errors.New("actions: no customer object in Flowglad's answer"))
	}
	return &v, nil
}

// UpdateCustomerInput is the body of customers/update.
type UpdateCustomerInput struct {
	// ID, when set, must be the Flowglad id of the signed-in customer.
	ID string
	// ExternalID, when set, must be the signed-in customer's external id.
	ExternalID string
	// Name, Email and Phone are changed when non-nil.
	Name, Email, Phone *string
	// BillingAddress replaces the billing address when set.
	BillingAddress json.RawMessage
}

// DecodeUpdateCustomer decodes and validates a customers/update body:
// {customer: {id?, name?, email?, phone?, billingAddress?}, externalId?}.
func DecodeUpdateCustomer(body []byte) (UpdateCustomerInput, error) {
	var in UpdateCustomerInput
	f, err := parseBody(body)
	if err != nil {
		return in, err
	}
	in.ExternalID, _ = f.str("externalId")
	if cust := f.nested("customer", true); cust != nil {
		// "Nothing to change" is only news when no member of customer was faulty; issues
		// elsewhere in the body do not hide it.
		before := f.issues.len()
		in.ID, _ = cust.str("id")
		if v, ok := cust.str("name"); ok {
			in.Name = &v
		}
		if v, ok := cust.str("email"); ok {
			if !validEmail(v) {
				cust.add("email", "must be a valid email address")
			}
			in.Email = &v
		}
		if v, ok := cust.str("phone"); ok {
			in.Phone = &v
		}
		if _, ok := cust.object("billingAddress"); ok {
			in.BillingAddress = cust.m["billingAddress"]
		}
		if in.Name == nil && in.Email == nil && in.Phone == nil && in.BillingAddress == nil && f.issues.len() == before {
			f.add("customer", "must change at least one of name, email, phone, billingAddress")
		}
	}
	return in, f.err()
}

// UpdateCustomer changes the signed-in customer. An id or external id naming another
// customer is refused with 403 before any change. It calls PUT
// /api/v1/customers/{externalId}, after reading billing when in.ID must be checked.
func (s *Service) UpdateCustomer(ctx context.Context, c Customer, in UpdateCustomerInput) (*CustomerResult, error) {
	if in.ExternalID != "" && in.ExternalID != c.ExternalID {
		return nil, errForbidden("customer " + in.ExternalID)
	}
	if in.ID != "" {
		b, err := s.Billing(ctx, c)
		if err != nil {
			return nil, err
		}
		if b.Customer.ID != in.ID {
			return nil, errForbidden("customer " + in.ID)
		}
	}
	body, err := s.client.UpdateCustomer(ctx, c.ExternalID, flowgladapi.UpdateCustomerParams{
		Name:           in.Name,
		Email:          in.Email,
		Phone:          in.Phone,
		BillingAddress: in.BillingAddress,
	})
	s.changed(ctx, c.ExternalID)
	if err != nil {
		return nil, err
	}
	return unwrapCustomer(body)
}
