// Package gate answers one question the same way wherever it is asked — in
// CI, through the API and at Kubernetes admission: may this image reference
// run here? It resolves the reference to a digest, gathers the facts the
// store holds for that digest (findings, signature status, base chain,
// provenance, reference checks), evaluates the policy over them and records
// the decision.
//
// This file is the contract the callers (CLI, API, admission) build on.
package gate

import (
	"time"

	"github.com/safeguard-dev/safeguard/policy"
)

// Modes of a rule: enforce violations deny, warn violations are shown to
// the user, audit violations are only logged.
const (
	ModeEnforce = "enforce"
	ModeWarn    = "warn"
	ModeAudit   = "audit"
)

// Verdicts.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Why facts could not be gathered (Decision.Incomplete). The gate's failure
// mode decides what an incomplete decision means; the reason says which.
const (
	IncompleteBudget      = "budget_exceeded"      // the time budget ran out
	IncompleteUnreachable = "registry_unreachable" // the registry could not be reached
	IncompleteNotFound    = "image_not_found"      // the registry has no such tag or digest
)

// Input is the deployment context a decision is asked in. Rules are scoped
// by environment, namespace and repository.
type Input struct {
	Environment string            `json:"environment,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Cluster     string            `json:"cluster,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"` // e.g. the namespace's labels
}

// Violation is one rule the image fails, in words a person reads.
type Violation struct {
	Rule    string `json:"rule"`
	Mode    string `json:"mode"`
	Message string `json:"message"`
}

// Decision is the gate's answer for one reference.
type Decision struct {
	Reference   string      `json:"reference"`
	Digest      string      `json:"digest,omitempty"` // the digest evaluated (what to pin)
	Verdict     string      `json:"verdict"`          // Allow or Deny
	Violations  []Violation `json:"violations"`       // every failed rule, all modes
	Incomplete  string      `json:"incomplete,omitempty"`
	PolicyHash  string      `json:"policy_hash"`
	EvaluatedAt time.Time   `json:"evaluated_at"`
	LatencyMS   float64     `json:"latency_ms"`
	// Suppressed lists what waivers removed (added field).
	Suppressed []Suppressed `json:"suppressed,omitempty"`
	// ExpiredWaivers would have applied had they not expired (added field).
	ExpiredWaivers []string `json:"expired_waivers,omitempty"`
}

// Suppressed is a violation, or one finding of one, that a waiver removed:
// shown so that accepted risks stay visible. It is the policy's own record.
type Suppressed = policy.Suppressed

// Allowed reports whether the verdict is Allow.
func (d Decision) Allowed() bool { return d.Verdict == Allow }

// InMode returns the violations of one mode.
func (d Decision) InMode(mode string) []Violation {
	var out []Violation
	for _, v := range d.Violations {
		if v.Mode == mode {
			out = append(out, v)
		}
	}
	return out
}
