package admission

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"
)

// Paths the webhook serves; the manifests point the webhook
// configurations at them.
const (
	PathValidate = "/admission/validate"
	PathMutate   = "/admission/mutate"
)

// Handler serves POST PathValidate and PathMutate, and GET /healthz for
// the Deployment's probes.
func (w *Webhook) Handler() http.Handler {
	mux := http.NewServeMux()
	for p, h := range w.Routes() {
		mux.Handle(p, h)
	}
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		io.WriteString(rw, "ok\n")
	})
	return mux
}

// Routes are the webhook's endpoints by ServeMux pattern, for mounting
// beside the API in `safeguard serve` (api.Options.Extra).
func (w *Webhook) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST " + PathValidate: w.serve(false),
		"POST " + PathMutate:   w.serve(true),
	}
}

// timeLimit bounds a whole request: the evaluation budget, the grace an
// overrunning evaluator gets, and a margin to write the answer.
func (w *Webhook) timeLimit() time.Duration {
	return w.cfg.budget() + overrunGrace + 500*time.Millisecond
}

func (w *Webhook) serve(mutate bool) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			http.Error(rw, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
			return
		}
		body, err := readBody(rw, r, w.maxBody)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(rw, "AdmissionReview larger than the request limit", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(rw, "reading the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), w.timeLimit())
		defer cancel()
		out, err := w.Review(ctx, body, mutate)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			http.Error(rw, "encoding the answer: "+err.Error(), http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Write(b)
	})
}

// preallocLimit caps what readBody allocates on a client's word: an
// AdmissionReview is tens of KiB, and a client that declares megabytes and
// sends nothing must not get them.
const preallocLimit = 64 << 10

// readBody reads a request body of at most limit bytes, in one
// allocation when the client sent its length (the API server does) and
// that length is small; a larger body grows with what actually arrives.
func readBody(rw http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(rw, r.Body, limit)
	n := r.ContentLength
	if n > 0 && n <= limit && n <= preallocLimit {
		b := make([]byte, n)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(body)
	if err == nil && n > 0 && int64(len(b)) != n {
		err = io.ErrUnexpectedEOF // shorter than declared (net/http reports it too)
	}
	return b, err
}

// NewServer wraps a handler in an HTTPS server with the timeouts a webhook
// needs: the API server keeps connections alive, and nothing may hold a
// connection for long.
func NewServer(h http.Handler, tlsConfig *tls.Config) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
