package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/safeguard-dev/safeguard/advisory"
)

// cvePattern is the KEV schema's cveID pattern (also used for EPSS rows).
var cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)

// parseKEVCatalog reads the CISA catalog. The schema's required fields are
// enforced and "count" must match the entries, because a complete catalog
// replaces the stored one: a truncated or mis-shaped catalog must fail, not
// silently drop entries.
func (l *loader) parseKEVCatalog(obj map[string]json.RawMessage) error {
	var version, released string
	for _, f := range []struct {
		key string
		dst *string
	}{{"catalogVersion", &version}, {"dateReleased", &released}} {
		raw, ok := obj[f.key]
		if !ok {
			return errorf(ErrInvalidRecord, "KEV catalog: missing %s", f.key)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil || *f.dst == "" {
			return errorf(ErrInvalidRecord, "KEV catalog: %s is not a non-empty string", f.key)
		}
	}
	var count int
	if raw, ok := obj["count"]; !ok {
		return errorf(ErrInvalidRecord, "KEV catalog: missing count")
	} else if err := json.Unmarshal(raw, &count); err != nil || count < 0 {
		return errorf(ErrInvalidRecord, "KEV catalog: count is not a non-negative integer")
	}
	raw, ok := obj["vulnerabilities"]
	if !ok {
		return errorf(ErrInvalidRecord, "KEV catalog: missing vulnerabilities")
	}
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '[' {
		return errorf(ErrInvalidRecord, "KEV catalog: vulnerabilities is not an array")
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil {
		return at("KEV catalog: vulnerabilities", jsonError(err))
	}
	if count != len(arr) {
		return errorf(ErrInvalidRecord, "KEV catalog: count says %d but vulnerabilities holds %d", count, len(arr))
	}
	if err := l.parseKEVEntries(arr, true); err != nil {
		return err
	}
	l.b.KEVCatalogVersion = version
	l.b.KEVComplete = true
	return nil
}

// kevEntry mirrors the schema's vulnerability object with pointers, so a
// missing required field is told apart from an empty one.
type kevEntry struct {
	CVE                *string `json:"cveID"`
	VendorProject      *string `json:"vendorProject"`
	Product            *string `json:"product"`
	Name               *string `json:"vulnerabilityName"`
	DateAdded          *string `json:"dateAdded"`
	ShortDescription   *string `json:"shortDescription"`
	RequiredAction     *string `json:"requiredAction"`
	DueDate            *string `json:"dueDate"`
	KnownRansomwareUse string  `json:"knownRansomwareCampaignUse"`
}

// parseKEVEntries reads catalog entries; complete says whether they are a
// whole catalog (Batch.KEVComplete is set by the caller).
func (l *loader) parseKEVEntries(arr []json.RawMessage, complete bool) error {
	seen := make(map[string]int, len(arr))
	out := make([]advisory.KEV, 0, len(arr))
	for i, raw := range arr {
		var e kevEntry
		loc := fmt.Sprintf("vulnerabilities[%d]", i)
		if err := json.Unmarshal(raw, &e); err != nil {
			return at(loc, jsonError(err))
		}
		if e.CVE != nil {
			loc += " (" + *e.CVE + ")"
		}
		required := []struct {
			name string
			v    *string
		}{
			{"cveID", e.CVE}, {"vendorProject", e.VendorProject}, {"product", e.Product},
			{"vulnerabilityName", e.Name}, {"dateAdded", e.DateAdded},
			{"shortDescription", e.ShortDescription}, {"requiredAction", e.RequiredAction},
			{"dueDate", e.DueDate},
		}
		for _, r := range required {
			if r.v == nil {
				return at(loc, errorf(ErrInvalidRecord, "missing %s", r.name))
			}
		}
		if !cvePattern.MatchString(*e.CVE) {
			return at(loc, errorf(ErrInvalidRecord, "cveID %q is not a CVE id", *e.CVE))
		}
		for _, d := range []struct{ name, v string }{{"dateAdded", *e.DateAdded}, {"dueDate", *e.DueDate}} {
			if _, err := time.Parse(time.DateOnly, d.v); err != nil {
				return at(loc, errorf(ErrInvalidRecord, "%s %q is not a YYYY-MM-DD date", d.name, d.v))
			}
		}
		if j, dup := seen[*e.CVE]; dup {
			return at(loc, errorf(ErrInvalidRecord, "duplicate of vulnerabilities[%d]", j))
		}
		seen[*e.CVE] = i
		out = append(out, advisory.KEV{
			CVE: *e.CVE, VendorProject: *e.VendorProject, Product: *e.Product, Name: *e.Name,
			DateAdded: *e.DateAdded, DueDate: *e.DueDate, RequiredAction: *e.RequiredAction,
			KnownRansomwareUse: e.KnownRansomwareUse,
		})
	}
	l.b.KEV = append(l.b.KEV, out...)
	l.b.KEVComplete = complete
	return nil
}
