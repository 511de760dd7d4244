package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
	"github.com/safeguard-dev/safeguard/store"
)

// parseQuery parses the raw query strictly: a malformed escape is a 400
// rather than a silently dropped parameter.
func parseQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Message: "malformed query string", Err: err}
	}
	return q, nil
}

// params reads the query parameters of a request whose names checkQuery
// already accepted.
type params url.Values

func query(r *http.Request) params {
	q, _ := url.ParseQuery(r.URL.RawQuery) // checked by checkQuery
	return params(q)
}

// one returns a single-valued parameter ("" when absent).
func (p params) one(name string) (string, error) {
	vs := p[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", badParam(name, "given %d times; give it once", len(vs))
	}
}

// bool reads true/false (also 1/0); absent is false.
func (p params) bool(name string) (bool, error) {
	v, err := p.one(name)
	if err != nil || v == "" {
		return false, err
	}
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return false, badParam(name, "%q is not true or false", v)
	}
	return b, nil
}

// int reads an integer in [lo, hi]; absent is def.
func (p params) int(name string, lo, hi, def int) (int, error) {
	v, err := p.one(name)
	if err != nil || v == "" {
		return def, err
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < lo || n > hi {
		return 0, badParam(name, "%q is not an integer from %d to %d", v, lo, hi)
	}
	return n, nil
}

// time reads an RFC 3339 timestamp; absent is the zero time.
func (p params) time(name string) (time.Time, error) {
	v, err := p.one(name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, perr := time.Parse(time.RFC3339, v)
	if perr != nil {
		return time.Time{}, badParam(name, "%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", v)
	}
	return t, nil
}

// list reads a parameter given repeatedly or comma-separated.
func (p params) list(name string) []string {
	var out []string
	for _, v := range p[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// severities are the values of the severity parameter, lowest first.
var severities = []advisory.Rating{advisory.RatingNone, advisory.RatingLow, advisory.RatingMedium, advisory.RatingHigh, advisory.RatingCritical}

// findingFilter reads kev, severity (minimum), package and
// include_resolved.
func (p params) findingFilter() (store.FindingFilter, error) {
	var f store.FindingFilter
	var err error
	if f.KEV, err = p.bool("kev"); err != nil {
		return f, err
	}
	if f.IncludeResolved, err = p.bool("include_resolved"); err != nil {
		return f, err
	}
	if f.Package, err = p.one("package"); err != nil {
		return f, err
	}
	if len(f.Package) > store.MaxPackageFilter {
		return f, badParam("package", "longer than %d characters", store.MaxPackageFilter)
	}
	sev, err := p.one("severity")
	if err != nil {
		return f, err
	}
	if sev != "" {
		r := advisory.Rating(strings.ToLower(sev))
		ok := false
		for _, s := range severities {
			ok = ok || r == s
		}
		if !ok {
			return f, badParam("severity", "%q is not one of none, low, medium, high, critical", sev)
		}
		f.MinSeverity = r
	}
	return f, nil
}

// digestPattern is an OCI content digest: algorithm ":" encoded.
// A sha256 digest must be exactly 64 lowercase hex digits.
var (
	digestPattern = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	sha256Pattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// pathDigest reads and checks the {digest} path parameter.
func pathDigest(r *http.Request) (string, error) {
	d := r.PathValue("digest")
	if !digestPattern.MatchString(d) || (strings.HasPrefix(d, "sha256:") && !sha256Pattern.MatchString(d)) {
		return "", badParam("digest", "%q is not a digest such as sha256:<64 hex digits>", d)
	}
	return d, nil
}

// pathID reads and checks the {id} path parameter.
func pathID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, badParam("id", "%q is not a positive integer", v)
	}
	return id, nil
}
