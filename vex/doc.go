// Package vex decodes VEX documents (Vulnerability Exploitability
// eXchange): statements by a supplier or the image's owner that a product
// is, or is not, affected by a vulnerability a scanner reports in it. A
// scanner matches versions; it cannot know that the vulnerable function is
// never called or the vulnerable class was removed from the jar. A VEX
// statement names the vulnerability (a CVE or GHSA id and its aliases),
// the product (a package URL, optionally inside an image), a status
// (not_affected, affected, fixed, under_investigation) and, for
// not_affected, a justification (code_not_present, …). Safeguard records
// the statements and a finding that a later statement declares
// not_affected stops counting in the policy gate; a later affected
// statement opens it again.
//
// Two formats are read, detected from content: OpenVEX
// (https://openvex.dev) and CycloneDX VEX (the vulnerabilities[] of a
// CycloneDX BOM, whose analysis.state false_positive also counts as not
// affected). CSAF VEX is refused with an error.
package vex
