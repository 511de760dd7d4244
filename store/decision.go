package store

import (
	"encoding/json"
	"time"
)

// DecisionRecord is one gate decision in the decision log. Detail is the
// whole decision (gate.Decision) as JSON; the other fields are what the log
// is searched by. A row can stand for Repeats identical decisions (same
// reference, context, policy and answer) made from At to LastAt: a webhook
// coalesces them rather than write thousands of equal rows a second; the
// detail is the first one's and LatencyMS the slowest's.
type DecisionRecord struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"evaluated_at"`
	Reference   string          `json:"reference"`
	Digest      string          `json:"digest"`
	Verdict     string          `json:"verdict"`
	Incomplete  string          `json:"incomplete,omitempty"`
	PolicyHash  string          `json:"policy_hash"`
	Environment string          `json:"environment,omitempty"`
	Namespace   string          `json:"namespace,omitempty"`
	Cluster     string          `json:"cluster,omitempty"`
	Source      string          `json:"source,omitempty"` // cli, api, admission
	LatencyMS   float64         `json:"latency_ms"`
	Repeats     int             `json:"repeats"`          // decisions the row stands for; 0 is stored as 1
	LastAt      time.Time       `json:"last_at,omitzero"` // the last of them; zero is stored as At
	Detail      json.RawMessage `json:"decision"`
}

// DecisionFilter narrows a decision-log query; zero values mean "any".
type DecisionFilter struct {
	Digest      string
	Reference   string
	Verdict     string
	Environment string
	Namespace   string
	Since       time.Time
	Limit       int // default and maximum MaxDecisions
}

// MaxDecisions bounds one decision-log query.
const MaxDecisions = 1000
