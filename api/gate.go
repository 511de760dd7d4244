package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/safeguard-dev/safeguard/gate"
	"github.com/safeguard-dev/safeguard/store"
)

// Gate decides gate requests: a *gate.Gate.
type Gate interface {
	EvaluateAll(ctx context.Context, req gate.Request) gate.Report
}

// DecisionLog reads the decision log.
type DecisionLog interface {
	Decisions(ctx context.Context, f store.DecisionFilter) ([]store.DecisionRecord, error)
}

// postGate answers POST /api/v1/gate with the same JSON as
// `safeguard gate --format json`. A deny is a 200 whose verdict says deny:
// the request worked.
func (s *Server) postGate(w http.ResponseWriter, r *http.Request) error {
	if s.gate == nil {
		return &Error{Status: http.StatusServiceUnavailable, Message: "the policy gate is not configured: start serve with --policy FILE"}
	}
	// JSON only: a form or text/plain POST is what any web page can send
	// to a serve on localhost without a CORS preflight; it must not run
	// the gate (registry fetches, decision-log entries).
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Message: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
		}
		return &Error{Status: http.StatusBadRequest, Message: "reading the request body failed", Err: err}
	}
	var req gate.Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return &Error{Status: http.StatusBadRequest, Message: "request body: " + err.Error() + ` (want {"images": ["registry/repo:tag", …], "input": {"environment": …, "namespace": …}})`}
	}
	if dec.More() {
		return &Error{Status: http.StatusBadRequest, Message: "request body: more than one JSON value"}
	}
	switch {
	case len(req.Images) == 0:
		return &Error{Status: http.StatusBadRequest, Message: "request body: images: give at least one image reference"}
	case len(req.Images) > gate.MaxImages:
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("request body: images: %d references, at most %d", len(req.Images), gate.MaxImages)}
	}
	for i, ref := range req.Images {
		if strings.TrimSpace(ref) == "" {
			return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("request body: images[%d] is empty", i)}
		}
	}
	writeJSON(w, http.StatusOK, s.gate.EvaluateAll(r.Context(), req))
	return nil
}

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request) error {
	if s.decisions == nil {
		return &Error{Status: http.StatusServiceUnavailable, Message: "the decision log is not configured"}
	}
	q := query(r)
	var f store.DecisionFilter
	var err error
	for _, p := range []struct {
		name string
		dst  *string
	}{{"digest", &f.Digest}, {"reference", &f.Reference}, {"verdict", &f.Verdict}, {"environment", &f.Environment}, {"namespace", &f.Namespace}} {
		if *p.dst, err = q.one(p.name); err != nil {
			return err
		}
	}
	if f.Verdict != "" && f.Verdict != gate.Allow && f.Verdict != gate.Deny {
		return badParam("verdict", "%q is not allow or deny", f.Verdict)
	}
	if f.Since, err = q.time("since"); err != nil {
		return err
	}
	if f.Limit, err = q.int("limit", 1, store.MaxDecisions, 100); err != nil {
		return err
	}
	ds, err := s.decisions.Decisions(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Decisions []store.DecisionRecord `json:"decisions"`
	}{nonNil(ds)})
	return nil
}
