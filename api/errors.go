package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/safeguard-dev/safeguard/store"
)

// Error is an error with the HTTP status it answers with. Its Message is
// shown to the client; Err, if any, is logged and never shown.
type Error struct {
	Status    int
	Message   string
	Parameter string // the query or path parameter at fault, if any
	Err       error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error     string `json:"error"`
	Status    int    `json:"status"`
	Parameter string `json:"parameter,omitempty"`
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

// badParam is a 400 naming the parameter at fault.
func badParam(name, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Parameter: name,
		Message: fmt.Sprintf("parameter %q: %s", name, fmt.Sprintf(format, args...))}
}

// handlerFunc is an endpoint: it writes a response and returns nil, or
// writes nothing and returns the error the adapter reports.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt turns an endpoint into an http.Handler: it rejects unknown query
// parameters and writes any returned error as JSON.
func (s *Server) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkQuery(r, rt.query)
		if err == nil {
			err = rt.h(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// checkQuery rejects query parameters the route does not accept, so a typo
// (sevrity=high) is an error instead of a silently unfiltered answer.
func checkQuery(r *http.Request, allowed []string) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	for name := range q {
		if !slices.Contains(allowed, name) {
			return &Error{Status: http.StatusBadRequest, Parameter: name, Message: fmt.Sprintf("unknown query parameter %q", name)}
		}
	}
	return nil
}

// writeError maps err to a status and writes it. Store and internal errors
// are logged and reported without detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrNotFound):
		e = &Error{Status: http.StatusNotFound, Message: "not found"}
	default:
		e = &Error{Status: http.StatusInternalServerError, Message: "internal server error", Err: err}
	}
	if e.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "pattern", r.Pattern, "status", e.Status, "err", err)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Message, Status: e.Status, Parameter: e.Parameter})
}

// writeJSON writes v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, `{"error":"internal server error","status":500}`+"\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
