// Package signature decides whether an image digest is signed by someone the
// operator trusts, and extracts what signed attestations say about how it was
// built.
//
// # The domain in brief
//
// Digest. An image is identified by the sha256 digest of its manifest bytes
// ("sha256:<64 hex>"). Tags move; digests do not. Every check in this package
// is about one digest: a signature counts only if the signed bytes name that
// exact digest. A signature made for another digest never counts, whatever tag
// it was found under.
//
// Simple signing (cosign's ".sig" layout). cosign stores signatures in a tag
// "sha256-<hex>.sig". Each layer is a small JSON document, the simple-signing
// payload:
//
//	{"critical":{"identity":{"docker-reference":"..."},
//	             "image":{"docker-manifest-digest":"sha256:..."},
//	             "type":"cosign container image signature"},
//	 "optional":{...}}
//
// The signature over the payload bytes travels in layer annotations:
// dev.cosignproject.cosign/signature (base64 signature),
// dev.sigstore.cosign/certificate and dev.sigstore.cosign/chain (PEM signing
// certificate and its chain, for keyless signatures) and
// dev.sigstore.cosign/bundle (the Rekor "SET", below). VerifyCosign checks all
// of them.
//
// Sigstore bundle. The newer format (media types
// application/vnd.dev.sigstore.bundle*+json, attached as an OCI 1.1 referrer)
// carries the signature, the verification material (certificate chain or a
// public-key hint) and the transparency-log entries in one protobuf-JSON
// document. cosign v2.6 with --new-bundle-format (and cosign v3 by default)
// signs an image by putting an in-toto statement with predicate type
// https://sigstore.dev/cosign/sign/v1 whose subject is the manifest digest into
// a DSSE envelope inside a v0.3 bundle. VerifyBundle accepts that, DSSE
// statements with other predicates naming the digest, and message signatures
// over the digest.
//
// DSSE. Dead Simple Signing Envelope: {payloadType, payload (base64),
// signatures[]}. The signature covers a pre-authentication encoding of the
// payload type and payload, so a payload cannot be reinterpreted as another
// type. Attestations are in-toto statements ({_type, subject[{name, digest}],
// predicateType, predicate}) in DSSE envelopes: SLSA provenance, SBOMs,
// vulnerability reports, VEX.
//
// SET. A Signed Entry Timestamp is Rekor's (the Sigstore transparency log's)
// signed promise that an entry was logged at integratedTime with logIndex. It
// is checked offline against the log's public key from the trusted root, and
// the logged body (hashedrekord, dsse or intoto) must agree with the signature,
// key or certificate and payload digest being verified. An inclusion proof
// (bundles v0.2+) additionally proves the entry is in a signed tree head.
//
// Fulcio and keyless signing. Fulcio is Sigstore's certificate authority. It
// issues a certificate valid for ten minutes that binds an ephemeral key to an
// OpenID Connect identity: the issuer (for example
// https://token.actions.githubusercontent.com, in an X.509 extension) and the
// subject (a Subject Alternative Name: an e-mail address or, for CI, the
// workflow URI). Because the certificate expires almost at once, it is checked
// at the time a trusted observer (the transparency log's integrated time or an
// RFC 3161 timestamp authority) saw the signature, never at the certificate's
// own NotBefore and never "now".
//
// Identity. A keyless signer in the trust policy is an issuer plus a subject,
// matched exactly (whole string) or by a regular expression that is always
// anchored (^…$), so https://github.com/acme/app-fork/... never passes for
// https://github.com/acme/app/..., and "acme" never matches "notacme".
//
// # Trust material
//
// Everything is verified offline from a Sigstore trusted root
// (trusted_root.json: Fulcio CAs, Rekor and CT log keys, timestamp
// authorities). It comes from a file (air-gapped or private deployments) or
// from the TUF cache of the Sigstore public-good instance. Verification never
// makes a network call; RefreshTrustedRoot is the only function that talks to
// the network, and it is called by the scheduler, not on the verify path.
//
// # Results
//
// Each signature yields a Result: signed (by a named signer of the policy),
// untrusted (cryptographically valid, but the identity is in no signer of the
// policy), invalid (with the reason), or notation (a Notary Project signature,
// detected and reported, not verified yet). Summarize folds the results of one
// image into unsigned, signed, untrusted, notation or invalid.
//
// Multi-platform images. A signature over an image index digest covers the
// platform manifests the index lists, because the index names their digests
// and the signature names the index. The package cannot see that relation;
// the caller, which fetched the index, passes the index's results to
// CoversChild for each child digest it listed.
package signature
