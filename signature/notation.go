package signature

import (
	"encoding/base64"
	"strings"
)

// Notary Project (notation) signatures are OCI referrers with this artifact
// type; their signature envelopes are JWS or COSE.
const (
	NotationArtifactType = "application/vnd.cncf.notary.signature"
	notationJWS          = "application/jose+json"
	notationCOSE         = "application/cose"
)

// DetectNotation reports whether a referrer's artifactType (or, for
// registries that predate artifactType, its config media type) marks a Notary
// Project signature. Envelope media types alone (application/jose+json,
// application/cose) are too generic to count.
func DetectNotation(mediaTypeOrArtifactType string) bool {
	mt := strings.ToLower(strings.TrimSpace(mediaTypeOrArtifactType))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	return mt == NotationArtifactType || mt == "application/vnd.cncf.notary.v2.signature"
}

// NotationResult is the result to record for a detected Notary Project
// signature: found, not verified, and said so, rather than calling the image
// unsigned.
func NotationResult(digest string) Result {
	return Result{
		Status:   StatusNotation,
		Digest:   digest,
		Format:   "notation",
		LogIndex: -1,
		Reason:   "Notary Project signature found; verifying notation signatures is not supported yet",
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
