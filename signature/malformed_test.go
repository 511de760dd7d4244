package signature

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// Hostile input never crashes and is never signed: it is invalid, with a
// reason naming what was wrong.
func TestMalformedInput(t *testing.T) {
	ctx := context.Background()
	f := newFakeSigstore(t)
	s, keyPath := genKey(t, "ecdsa-p256")
	v := mustVerifier(t, f.TrustedRootPath, keylessSigner("ci", ghIssuer, releaseWF), keySigner("key", keyPath))

	good := f.bundleFor(t, releaseWF, ghIssuer, imageA, time.Now())
	if r := v.VerifyBundle(ctx, good, imageA); r.Status != StatusSigned {
		t.Fatalf("control: %+v", r)
	}
	payload := simplePayload(imageA)
	sig := b64(signWith(t, s, payload))
	if r := v.VerifyCosign(ctx, payload, map[string]string{AnnotationSignature: sig}, imageA); r.Status != StatusSigned {
		t.Fatalf("control: %+v", r)
	}
	env := dsseEnvelope(t, s, imageA, "https://spdx.dev/Document", `{}`)
	if a := v.VerifyAttestation(ctx, env, imageA); a.Status != StatusSigned {
		t.Fatalf("control: %+v", a.Result)
	}
	conf := func(name string) []byte {
		return readFile(t, "testdata/conformance/bundle-verify/"+name+"/bundle.sigstore.json")
	}
	huge := bytes.Repeat([]byte("a"), MaxSignatureSize+1)

	bundles := map[string]struct {
		raw    []byte
		reason string
	}{
		"empty":                {nil, "empty bundle"},
		"truncated JSON":       {good[:len(good)/2], "malformed bundle"},
		"not JSON":             {[]byte("\x00\x01garbage"), "malformed bundle"},
		"JSON null":            {[]byte("null"), "malformed bundle"},
		"empty object":         {[]byte("{}"), "malformed bundle"},
		"bad base64 signature": {conf("bundle-invalid-base64-signature_fail"), "invalid value for bytes field signature"},
		"empty certificate":    {conf("bundle-empty-certificate-chain_fail"), ""},
		"unknown version":      {conf("bundle-unknown-version_fail"), "unsupported media type"},
		"huge":                 {append([]byte(`{"mediaType":"`), huge...), "larger than"},
		"garbage DSSE":         {[]byte(strings.Replace(string(conf("happy-path-intoto-in-dsse-v3")), `"payload": "`, `"payload": "!!!`, 1)), ""},
	}
	for name, tc := range bundles {
		t.Run("bundle/"+name, func(t *testing.T) {
			r := v.VerifyBundle(ctx, tc.raw, imageA)
			if r.Status != StatusInvalid || r.Reason == "" || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("got %s %q, want invalid mentioning %q", r.Status, r.Reason, tc.reason)
			}
		})
	}

	layers := map[string]struct {
		payload []byte
		ann     map[string]string
		digest  string
		reason  string
	}{
		"truncated payload":   {payload[:20], map[string]string{AnnotationSignature: sig}, imageA, "not a cosign simple-signing document"},
		"huge payload":        {huge, map[string]string{AnnotationSignature: sig}, imageA, "larger than"},
		"huge annotation":     {payload, map[string]string{AnnotationSignature: string(huge)}, imageA, "larger than"},
		"wrong type":          {[]byte(strings.Replace(string(payload), SimpleSigningType, "atomic container signature", 1)), map[string]string{AnnotationSignature: sig}, imageA, "critical.type"},
		"bad payload digest":  {[]byte(strings.Replace(string(payload), imageA, "sha256:XYZ", 1)), map[string]string{AnnotationSignature: sig}, imageA, "docker-manifest-digest"},
		"no signature":        {payload, map[string]string{}, imageA, "no dev.cosignproject.cosign/signature"},
		"bad base64":          {payload, map[string]string{AnnotationSignature: "%%%not base64"}, imageA, "not base64"},
		"empty certificate":   {payload, map[string]string{AnnotationSignature: sig, AnnotationCertificate: ""}, imageA, "annotation is empty"},
		"garbage certificate": {payload, map[string]string{AnnotationSignature: sig, AnnotationCertificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, imageA, "certificate annotation"},
		"not PEM":             {payload, map[string]string{AnnotationSignature: sig, AnnotationCertificate: "hello"}, imageA, "no PEM certificate"},
		"garbage SET":         {payload, map[string]string{AnnotationSignature: sig, AnnotationBundle: "{"}, imageA, "not a Rekor bundle"},
		"SET bad body":        {payload, map[string]string{AnnotationSignature: sig, AnnotationBundle: `{"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"00"}}`}, imageA, "log entry body"},
		"SET negative index":  {payload, map[string]string{AnnotationSignature: sig, AnnotationBundle: `{"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1,"logIndex":-1,"logID":"00"}}`}, imageA, "negative"},
		"bad digest argument": {payload, map[string]string{AnnotationSignature: sig}, "sha256:" + strings.Repeat("A", 64), "not lowercase hex"},
		"sha512 digest":       {payload, map[string]string{AnnotationSignature: sig}, "sha512:" + strings.Repeat("a", 128), "not a sha256 digest"},
	}
	for name, tc := range layers {
		t.Run("cosign/"+name, func(t *testing.T) {
			r := v.VerifyCosign(ctx, tc.payload, tc.ann, tc.digest)
			if r.Status != StatusInvalid || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("got %s %q, want invalid mentioning %q", r.Status, r.Reason, tc.reason)
			}
		})
	}

	envs := map[string]struct {
		raw    []byte
		reason string
	}{
		"garbage":           {[]byte("garbage"), "neither a Sigstore bundle nor a DSSE envelope"},
		"payload not b64":   {[]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"!!","signatures":[{"sig":"AAAA"}]}`), "not base64"},
		"no signatures":     {[]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`), "no signatures"},
		"sig not b64":       {[]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"!!"}]}`), "not base64"},
		"wrong payloadType": {[]byte(`{"payloadType":"text/plain","payload":"e30=","signatures":[{"sig":"AAAA"}]}`), "DSSE payload type"},
		"not a statement":   {[]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AAAA"}]}`), "no _type"},
		"two signatures":    {[]byte(strings.Replace(string(env), `"signatures":[{`, `"signatures":[{"sig":"AAAA"},{`, 1)), "exactly one"},
		"huge":              {bytes.Repeat([]byte(" "), MaxAttestationSize+1), "larger than"},
	}
	for name, tc := range envs {
		t.Run("dsse/"+name, func(t *testing.T) {
			a := v.VerifyAttestation(ctx, tc.raw, imageA)
			if a.Status != StatusInvalid || !strings.Contains(a.Reason, tc.reason) || a.Predicate != nil {
				t.Fatalf("got %s %q, want invalid mentioning %q", a.Status, a.Reason, tc.reason)
			}
		})
	}
}
