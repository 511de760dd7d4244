package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Waiver accepts a known risk for a while: one finding (by vulnerability
// id or alias, optionally only in one package and only for some images) or
// a whole rule (for some images). Every waiver names an owner and a reason
// and expires; one that never expires must say permanent: true.
type Waiver struct {
	Vulnerability string    `json:"vulnerability,omitempty"`
	Package       string    `json:"package,omitempty"`
	Rule          string    `json:"rule,omitempty"`
	Images        []string  `json:"images,omitempty"`
	Owner         string    `json:"owner"`
	Reason        string    `json:"reason"`
	Expires       time.Time `json:"expires,omitzero"` // the waiver stops applying at this instant
	Permanent     bool      `json:"permanent,omitempty"`
	images        []imagePattern
}

type waiverFile struct {
	Vulnerability string   `yaml:"vulnerability"`
	Package       string   `yaml:"package"`
	Rule          string   `yaml:"rule"`
	Images        []string `yaml:"images"`
	Owner         string   `yaml:"owner"`
	Reason        string   `yaml:"reason"`
	Expires       string   `yaml:"expires"`
	Permanent     bool     `yaml:"permanent"`
}

func compileWaiver(wf waiverFile, rules map[string]int) (Waiver, error) {
	w := Waiver{Vulnerability: wf.Vulnerability, Package: wf.Package, Rule: wf.Rule, Images: wf.Images, Owner: wf.Owner, Reason: wf.Reason, Permanent: wf.Permanent}
	switch {
	case w.Vulnerability == "" && w.Rule == "":
		return w, errors.New("give vulnerability (a finding waiver) or rule (a rule waiver)")
	case w.Vulnerability != "" && w.Rule != "":
		return w, errors.New("give vulnerability or rule, not both")
	case w.Package != "" && w.Vulnerability == "":
		return w, errors.New("package narrows a vulnerability waiver; this waiver names no vulnerability")
	}
	if w.Rule != "" {
		if _, ok := rules[w.Rule]; !ok {
			return w, fmt.Errorf("rule: %q is not a rule of this policy", w.Rule)
		}
	}
	if strings.TrimSpace(w.Owner) == "" {
		return w, errors.New("owner: required (who answers for this waiver)")
	}
	if strings.TrimSpace(w.Reason) == "" {
		return w, errors.New("reason: required (why the risk is accepted)")
	}
	switch {
	case wf.Expires == "" && !w.Permanent:
		return w, errors.New("expires: required (a date such as 2026-12-31); a waiver that never expires must say permanent: true")
	case wf.Expires != "" && w.Permanent:
		return w, errors.New("expires and permanent: true contradict each other; give one")
	case wf.Expires != "":
		t, err := parseExpiry(wf.Expires)
		if err != nil {
			return w, err
		}
		w.Expires = t
	}
	for _, s := range wf.Images {
		ip, err := compilePattern(s)
		if err != nil {
			return w, fmt.Errorf("images: %w", err)
		}
		w.images = append(w.images, ip)
	}
	return w, nil
}

// parseExpiry reads a date (the waiver holds through that day, UTC) or an
// RFC 3339 instant.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expires: %q is not a date (2026-12-31) or an RFC 3339 time", s)
}

// Expired reports whether the waiver has stopped applying at now.
func (w Waiver) Expired(now time.Time) bool {
	return !w.Permanent && !now.Before(w.Expires)
}

func (w Waiver) coversImage(f *Facts) bool {
	if len(w.images) == 0 {
		return true
	}
	for _, ip := range w.images {
		if ip.matchRef(f.Reference, f.Tags) {
			return true
		}
	}
	return false
}

func (w Waiver) coversFinding(fd Finding) bool {
	if w.Vulnerability == "" {
		return false
	}
	if w.Package != "" && w.Package != fd.Package && w.Package != fd.PURL {
		return false
	}
	if strings.EqualFold(fd.ID, w.Vulnerability) {
		return true
	}
	for _, a := range fd.Aliases {
		if strings.EqualFold(a, w.Vulnerability) {
			return true
		}
	}
	return false
}

// Label names the waiver in messages.
func (w Waiver) Label() string {
	what := w.Vulnerability
	if w.Package != "" {
		what += " in " + w.Package
	}
	if w.Rule != "" {
		what = "rule " + w.Rule
	}
	until := "permanent"
	if !w.Permanent {
		until = ExpiryText(w.Expires)
	}
	return fmt.Sprintf("%s (owner %s, %s: %s)", what, w.Owner, until, w.Reason)
}

// ExpiryText says when a waiver stops applying the way it was written: a
// waiver given as "expires: 2026-12-31" holds through that day, so it is
// "through 2026-12-31", not "until 2027-01-01T00:00:00Z"; an RFC 3339 time
// is shown as "until" that instant.
func ExpiryText(t time.Time) string {
	u := t.UTC()
	if u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0 {
		return "through " + u.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return "until " + u.Format(time.RFC3339)
}
