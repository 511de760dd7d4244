package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// review is one decoded request and the version to answer in. Most
// requests decode in one pass, the object straight into objectShape
// (obj); a request whose object does not fit it is decoded again with the
// API types, its object kept raw for extractWorkload.
type review struct {
	apiVersion string
	req        *admissionv1.AdmissionRequest
	obj        *objectShape // one-pass decoding; nil: use req.Object.Raw
	fast       bool
	oldRaw     []byte
}

// fastReview is an AdmissionReview whose object decodes as objectShape,
// with only the request fields the webhook reads (the JSON names of
// admissionv1.AdmissionRequest); the rest — userInfo, options, resource —
// is skipped, not decoded.
type fastReview struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Request    *fastRequest `json:"request"`
}

type fastRequest struct {
	UID         types.UID               `json:"uid"`
	Kind        metav1.GroupVersionKind `json:"kind"`
	SubResource string                  `json:"subResource"`
	Name        string                  `json:"name"`
	Namespace   string                  `json:"namespace"`
	Operation   admissionv1.Operation   `json:"operation"`
	DryRun      *bool                   `json:"dryRun"`
	Object      *objectShape            `json:"object"`
	OldObject   json.RawMessage         `json:"oldObject"`
}

func (f *fastRequest) request() *admissionv1.AdmissionRequest {
	return &admissionv1.AdmissionRequest{UID: f.UID, Kind: f.Kind, SubResource: f.SubResource, Name: f.Name,
		Namespace: f.Namespace, Operation: f.Operation, DryRun: f.DryRun}
}

// object returns the request's workload.
func (rv review) object() (workload, error) {
	k := rv.req.Kind
	if !rv.fast {
		return extractWorkload(k.Group, k.Kind, rv.req.Object.Raw)
	}
	if rv.obj == nil {
		return workload{Kind: k.Kind}, fmt.Errorf("%s: request has no object", k.Kind)
	}
	return fromShape(k.Group, k.Kind, rv.obj)
}

// oldObject returns the raw object an UPDATE replaces.
func (rv review) oldObject() []byte {
	if rv.fast {
		return rv.oldRaw
	}
	return rv.req.OldObject.Raw
}

// decodeReview parses an AdmissionReview. What the webhook cannot answer —
// not JSON, null, another kind or version, no request, no uid to echo — is
// ErrMalformed; a request that can be answered but whose object is wrong
// is denied later, with the reason.
//
// The body is decoded first with encoding/json/v2, in one pass that skips
// what fastReview does not name. What v2 refuses — duplicate names and
// invalid UTF-8, which encoding/json accepts (the last duplicate wins, bad
// bytes become U+FFFD), and what neither accepts — goes to decodeReviewV1,
// the encoding/json decoder as it was, so every body gets encoding/json's
// answer; the API server sends neither. decode_test.go pins each
// difference; FuzzDecodeReview compares the two decoders.
func decodeReview(body []byte) (review, error) {
	body, err := isObject(body)
	if err != nil {
		return review{}, err
	}
	var fr fastReview
	if err := jsonv2.Unmarshal(body, &fr, fastOptions); err == nil {
		return fr.review(body)
	}
	return decodeReviewV1(body)
}

// isObject trims body and says whether it can be a JSON object.
func isObject(body []byte) ([]byte, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	return body, nil
}

// fastOptions: names match as in encoding/json, exactly or else by
// strings.EqualFold (v2's own folding would also ignore '-' and '_'). A
// field named twice, in any case, is a duplicate, which v2 refuses.
var fastOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
)

// decodeReviewV1 decodes a body with encoding/json alone (decodeReview as
// it was before v2): the answer for what v2 refuses.
func decodeReviewV1(body []byte) (review, error) {
	body, err := isObject(body)
	if err != nil {
		return review{}, err
	}
	var fr fastReview
	if err := json.Unmarshal(body, &fr); err == nil {
		return fr.review(body)
	}
	return decodeFull(body)
}

// review checks a decoded fastReview's envelope and returns the request;
// a kind the webhook does not know is decoded again in full, its object
// walked raw.
func (fr *fastReview) review(body []byte) (review, error) {
	if err := checkEnvelope(fr.Kind, fr.APIVersion, fr.Request != nil, fr.Request != nil && fr.Request.UID != ""); err != nil {
		return review{}, err
	}
	if _, known := podSpecPath(fr.Request.Kind.Group, fr.Request.Kind.Kind); known {
		return review{apiVersion: fr.APIVersion, req: fr.Request.request(), obj: fr.Request.Object, fast: true, oldRaw: fr.Request.OldObject}, nil
	}
	return decodeFull(body)
}

// decodeFull decodes a body into the API types with encoding/json.
func decodeFull(body []byte) (review, error) {
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &ar); err != nil {
		return review{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := checkEnvelope(ar.Kind, ar.APIVersion, ar.Request != nil, ar.Request != nil && ar.Request.UID != ""); err != nil {
		return review{}, err
	}
	return review{apiVersion: ar.APIVersion, req: ar.Request}, nil
}

// checkEnvelope: the kind and version the webhook speaks, a request, a uid.
func checkEnvelope(kind, apiVersion string, hasRequest, hasUID bool) error {
	if kind != "AdmissionReview" {
		return fmt.Errorf("%w: kind %q, want AdmissionReview", ErrMalformed, kind)
	}
	if apiVersion != versionV1 && apiVersion != versionV1beta1 {
		return fmt.Errorf("%w: apiVersion %q, want %s or %s", ErrMalformed, apiVersion, versionV1, versionV1beta1)
	}
	if !hasRequest {
		return fmt.Errorf("%w: no request", ErrMalformed)
	}
	if !hasUID {
		return fmt.Errorf("%w: request has no uid", ErrMalformed)
	}
	return nil
}

// CheckReview reports whether body is an AdmissionReview the webhook can
// answer, without answering it (ErrMalformed, wrapped, when not).
func CheckReview(body []byte) error {
	_, err := decodeReview(body)
	return err
}
