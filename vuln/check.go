package vuln

import (
	"errors"
	"fmt"

	"github.com/safeguard-dev/safeguard/advisory"
)

// CheckAdvisory verifies that every version an advisory names can be
// ordered in its ecosystem. An event that cannot be parsed would make its
// range match nothing — a silent false negative — so such a record is
// rejected at import rather than discovered at match time.
// Ecosystems without an ordering (GIT ranges, Linux, OSS-Fuzz, …) pass.
func CheckAdvisory(a advisory.Advisory) error {
	if a.Withdrawn != nil {
		return nil
	}
	for i, aff := range a.Affected {
		eco := ParseEcosystem(aff.Package.Ecosystem)
		for j, r := range aff.Ranges {
			ordering := eco.Base
			switch r.Type {
			case advisory.RangeSemver:
				if ordering != "Go" {
					ordering = "npm"
				}
			case advisory.RangeEcosystem:
			default:
				continue
			}
			for _, e := range r.Events {
				kind, v := eventValue(e)
				if v == "" || (kind == "introduced" && v == "0") || (kind == "limit" && v == "*") {
					continue
				}
				if _, err := ParseVersion(ordering, v); err != nil {
					if errors.Is(err, ErrUnorderable) {
						break
					}
					return fmt.Errorf("record %s: affected[%d] (%s %s): ranges[%d]: %s %q is not a %s version: %w",
						a.ID, i, aff.Package.Ecosystem, aff.Package.Name, j, kind, v, ordering, err)
				}
			}
		}
	}
	return nil
}

func eventValue(e advisory.Event) (string, string) {
	switch {
	case e.Introduced != "":
		return "introduced", e.Introduced
	case e.Fixed != "":
		return "fixed", e.Fixed
	case e.LastAffected != "":
		return "last_affected", e.LastAffected
	case e.Limit != "":
		return "limit", e.Limit
	}
	return "", ""
}
