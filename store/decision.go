package store

import (
	"encoding/json"
	"time"
)

// DecisionRecord is one gate decision in the decision log. Detail is the
// whole decision (gate.Decision) as JSON; the other fields are what the log
// is searched by.
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
