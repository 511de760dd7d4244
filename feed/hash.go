package feed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/safeguard-dev/safeguard/advisory"
)

// ContentHash is a stable hex sha256 over the advisory's canonical JSON:
// the advisory.Advisory fields in struct order, every object's keys sorted
// (including inside database_specific and ecosystem_specific), no
// insignificant whitespace, times in UTC. Callers use it for change
// detection because "modified" cannot be trusted for that — the Go vulndb
// export sets it to 0001-01-01T00:00:00Z for every record. Fields the model
// does not carry (credits, for one) do not contribute.
func ContentHash(a advisory.Advisory) string {
	sum := sha256.Sum256(CanonicalJSON(a))
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON returns the canonical encoding ContentHash hashes.
func CanonicalJSON(a advisory.Advisory) []byte {
	a.Modified = a.Modified.UTC()
	if a.Published != nil {
		t := a.Published.UTC()
		a.Published = &t
	}
	if a.Withdrawn != nil {
		t := a.Withdrawn.UTC()
		a.Withdrawn = &t
	}
	raw, err := json.Marshal(a)
	if err != nil {
		// Only invalid RawMessage content can fail here; such a record
		// cannot come out of Load. Hash the error text so the result stays
		// deterministic rather than panicking.
		return []byte("invalid: " + err.Error())
	}
	// Round-trip through generic values: encoding/json writes map keys in
	// sorted order, which canonicalises the raw sub-objects as well.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
