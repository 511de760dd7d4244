package gate

import "context"

// Request asks for decisions on several references in one deployment
// context: the body of POST /api/v1/gate.
type Request struct {
	Images []string `json:"images"`
	Input  Input    `json:"input"`
}

// Report is the answer to a Request, and what `safeguard gate --format
// json` prints: the overall verdict (deny when any image is denied) and
// one decision per image, in the order asked.
type Report struct {
	Verdict    string     `json:"verdict"`
	Policy     string     `json:"policy"`
	PolicyHash string     `json:"policy_hash"`
	Input      Input      `json:"input"`
	Decisions  []Decision `json:"decisions"`
}

// MaxImages bounds one request.
const MaxImages = 100

// EvaluateAll decides every image of a request, in order.
func (g *Gate) EvaluateAll(ctx context.Context, req Request) Report {
	r := Report{Verdict: Allow, Policy: g.o.Policy.Name, PolicyHash: g.o.Policy.Hash(), Input: req.Input, Decisions: make([]Decision, 0, len(req.Images))}
	for _, ref := range req.Images {
		d := g.Evaluate(ctx, ref, req.Input)
		if !d.Allowed() {
			r.Verdict = Deny
		}
		r.Decisions = append(r.Decisions, d)
	}
	return r
}
