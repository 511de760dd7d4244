package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
)

// API versions of AdmissionReview the webhook speaks. v1beta1 has the same
// shape as v1; the answer goes back in the version asked.
var (
	versionV1      = admissionv1.SchemeGroupVersion.String()      // admission.k8s.io/v1
	versionV1beta1 = admissionv1beta1.SchemeGroupVersion.String() // admission.k8s.io/v1beta1
)

// ErrMalformed marks a body that is not an AdmissionReview the webhook can
// answer: the HTTP handler turns it into a 400, the CLI into exit 2.
var ErrMalformed = errors.New("malformed AdmissionReview")

// review is one decoded request and the version to answer in.
type review struct {
	apiVersion string
	req        *admissionv1.AdmissionRequest
}

// decodeReview parses an AdmissionReview. What the webhook cannot answer —
// not JSON, null, another kind or version, no request, no uid to echo — is
// ErrMalformed; a request that can be answered but whose object is wrong
// is denied later, with the reason.
func decodeReview(body []byte) (review, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return review{}, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &ar); err != nil {
		return review{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if ar.Kind != "AdmissionReview" {
		return review{}, fmt.Errorf("%w: kind %q, want AdmissionReview", ErrMalformed, ar.Kind)
	}
	if ar.APIVersion != versionV1 && ar.APIVersion != versionV1beta1 {
		return review{}, fmt.Errorf("%w: apiVersion %q, want %s or %s", ErrMalformed, ar.APIVersion, versionV1, versionV1beta1)
	}
	if ar.Request == nil {
		return review{}, fmt.Errorf("%w: no request", ErrMalformed)
	}
	if ar.Request.UID == "" {
		return review{}, fmt.Errorf("%w: request has no uid", ErrMalformed)
	}
	return review{apiVersion: ar.APIVersion, req: ar.Request}, nil
}

// CheckReview reports whether body is an AdmissionReview the webhook can
// answer, without answering it (ErrMalformed, wrapped, when not).
func CheckReview(body []byte) error {
	_, err := decodeReview(body)
	return err
}
