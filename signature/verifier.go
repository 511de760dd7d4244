package signature

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	sigsig "github.com/sigstore/sigstore/pkg/signature"
)

// Size limits. Registries serve whatever they are given; these bound the
// memory and CPU one hostile referrer can cost. Image signatures are a few
// KiB; attestations carry SBOMs and may be large.
const (
	// MaxSignatureSize bounds a bundle, a simple-signing payload or the
	// annotations of a .sig layer verified as an image signature.
	MaxSignatureSize = 1 << 20
	// MaxAttestationSize bounds a DSSE envelope or bundle holding an
	// attestation.
	MaxAttestationSize = 64 << 20
)

// Verifier checks signatures against one Policy. Build it once per policy
// (NewVerifier compiles identities, parses keys and configures the
// sigstore-go verifiers up front) and share it: it holds no mutable state
// and is safe for concurrent use.
type Verifier struct {
	policy  *Policy
	trusted root.TrustedMaterial // nil when the policy has no trusted root

	// cert verifies certificate-based signatures; certTSA additionally
	// requires an RFC 3161 timestamp to verify, used when the signature
	// carries timestamps and the trusted root has timestamp authorities,
	// so a bad timestamp is an error rather than silently skipped.
	cert, certTSA *verify.Verifier
	keyless       []keylessEntry
	keys          []keyEntry
	rootHasTSA    bool
	hash          string
}

type keylessEntry struct {
	name string
	id   verify.CertificateIdentity
}

type keyEntry struct {
	name string
	key  *KeySigner
	// withLog checks log entries (SET or inclusion proof) and timestamps;
	// noLog checks only the signature, for key signatures made without a
	// log entry (allowed unless RequireTlog).
	withLog, withLogTSA, noLog *verify.Verifier
}

// NewVerifier builds the verifier for a loaded policy. Conflicting or
// impossible settings (a keyless signer without trust material, an identity
// sigstore-go rejects) are errors here, never at verification time.
func NewVerifier(p *Policy) (*Verifier, error) {
	if p == nil {
		return nil, errors.New("signature: nil policy")
	}
	v := &Verifier{policy: p, hash: p.Hash()}
	if p.trustedRoot != nil {
		v.trusted = p.trustedRoot
	}
	var rootHasTlog, rootHasCT bool
	if v.trusted != nil {
		rootHasTlog = len(v.trusted.RekorLogs()) > 0
		rootHasCT = len(v.trusted.CTLogs()) > 0
		v.rootHasTSA = len(v.trusted.TimestampingAuthorities()) > 0

		// Keyless certificates live ten minutes: they must be checked at a
		// time a trusted observer vouches for (log integrated time or TSA
		// timestamp). Only a trusted root with neither (a private PKI of
		// long-lived certificates) is checked at the current time.
		var opts []verify.VerifierOption
		opts = append(opts, verify.WithoutStatementPredicate())
		if rootHasTlog {
			opts = append(opts, verify.WithTransparencyLog(1))
		}
		if rootHasTlog || v.rootHasTSA {
			opts = append(opts, verify.WithObserverTimestamps(1))
		} else {
			opts = append(opts, verify.WithCurrentTime())
		}
		if rootHasCT {
			opts = append(opts, verify.WithSignedCertificateTimestamps(1))
		}
		var err error
		if v.cert, err = verify.NewVerifier(v.trusted, opts...); err != nil {
			return nil, fmt.Errorf("signature: keyless verifier: %w", err)
		}
		if v.rootHasTSA {
			if v.certTSA, err = verify.NewVerifier(v.trusted, append(opts, verify.WithSignedTimestamps(1))...); err != nil {
				return nil, fmt.Errorf("signature: keyless verifier: %w", err)
			}
		}
	}

	for _, s := range p.Signers {
		switch {
		case s.Keyless != nil:
			if v.cert == nil {
				return nil, fmt.Errorf("signature: signer %q: keyless signers need a trusted root", s.Name)
			}
			var (
				id  verify.CertificateIdentity
				err error
			)
			if s.Keyless.anchored != nil {
				id, err = verify.NewShortCertificateIdentity(s.Keyless.Issuer, "", "", s.Keyless.anchored.String())
			} else {
				id, err = verify.NewShortCertificateIdentity(s.Keyless.Issuer, "", s.Keyless.Subject, "")
			}
			if err != nil {
				return nil, fmt.Errorf("signature: signer %q: %w", s.Name, err)
			}
			v.keyless = append(v.keyless, keylessEntry{name: s.Name, id: id})
		case s.Key != nil:
			ke, err := v.newKeyEntry(s.Name, s.Key)
			if err != nil {
				return nil, fmt.Errorf("signature: signer %q: %w", s.Name, err)
			}
			v.keys = append(v.keys, ke)
		default:
			return nil, fmt.Errorf("signature: signer %q has neither keyless nor key", s.Name)
		}
	}
	return v, nil
}

func (v *Verifier) newKeyEntry(name string, k *KeySigner) (keyEntry, error) {
	sv, err := sigsig.LoadDefaultVerifier(k.pub)
	if err != nil {
		return keyEntry{}, err
	}
	expiring := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	keyMaterial := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return expiring, nil
	})
	ke := keyEntry{name: name, key: k}
	if ke.noLog, err = verify.NewVerifier(keyMaterial, verify.WithoutStatementPredicate(), verify.WithNoObserverTimestamps()); err != nil {
		return keyEntry{}, err
	}
	if v.trusted != nil {
		tm := root.TrustedMaterialCollection{keyMaterial, v.trusted}
		// A key has no validity window to check a time against, so the
		// log entry (SET or inclusion proof) is what is required, and the
		// current time satisfies sigstore-go's need for a time.
		opts := []verify.VerifierOption{verify.WithoutStatementPredicate(), verify.WithCurrentTime()}
		if len(v.trusted.RekorLogs()) > 0 {
			opts = append(opts, verify.WithTransparencyLog(1))
		}
		if ke.withLog, err = verify.NewVerifier(tm, opts...); err != nil {
			return keyEntry{}, err
		}
		if v.rootHasTSA {
			if ke.withLogTSA, err = verify.NewVerifier(tm, append(opts, verify.WithSignedTimestamps(1))...); err != nil {
				return keyEntry{}, err
			}
		}
	} else if k.RequireTlog {
		return keyEntry{}, errors.New("require_tlog needs a trusted root")
	}
	return ke, nil
}

// PolicyHash is the Hash of the policy this verifier was built from: the
// cache key for statuses it computed.
func (v *Verifier) PolicyHash() string { return v.hash }

// artifact says what the signature must cover: an image digest, or (for
// blobs) the artifact bytes.
type artifact struct {
	digest []byte // sha256
	bytes  []byte // nil unless verifying a blob
}

func (a artifact) option() verify.ArtifactPolicyOption {
	if a.bytes != nil {
		return verify.WithArtifact(strings.NewReader(string(a.bytes)))
	}
	return verify.WithArtifactDigest("sha256", a.digest)
}

// verifyEntity runs sigstore-go over one signed entity and maps the outcome
// onto the policy. It never panics: sigstore-go and protobuf parsing are
// exercised with hostile input, and a panic there must become an invalid
// result, not a crashed crawler.
func (v *Verifier) verifyEntity(ctx context.Context, ent verify.SignedEntity, art artifact, res Result) (out Result) {
	defer func() {
		if p := recover(); p != nil {
			out = res
			out.Status, out.Reason = StatusInvalid, fmt.Sprintf("verification failed on malformed input: %v", p)
		}
	}()
	res.LogIndex = -1
	if err := ctx.Err(); err != nil {
		res.Status, res.Reason = StatusInvalid, "verification cancelled: "+err.Error()
		return res
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		res.Status, res.Reason = StatusInvalid, "verification material: "+err.Error()
		return res
	}
	timestamps, _ := ent.Timestamps()
	entries, _ := ent.TlogEntries()

	if cert := vc.Certificate(); cert != nil {
		res.KeyID = keyIDOf(cert)
		if v.cert == nil {
			res.Status = StatusInvalid
			res.Reason = "signed with a certificate, but the trust policy has no trusted root to check it against"
			return res
		}
		ver := v.cert
		if v.certTSA != nil && len(timestamps) > 0 {
			ver = v.certTSA
		}
		vr, err := ver.Verify(ent, verify.NewPolicy(art.option(), verify.WithoutIdentitiesUnsafe()))
		if err != nil {
			res.Status, res.Reason = StatusInvalid, err.Error()
			return res
		}
		if vr.Signature == nil || vr.Signature.Certificate == nil {
			res.Status, res.Reason = StatusInvalid, "certificate verification returned no certificate summary"
			return res
		}
		sum := *vr.Signature.Certificate
		res.Issuer, res.Subject = sum.Issuer, sum.SubjectAlternativeName
		v.fillLog(&res, entries)
		for _, k := range v.keyless {
			if k.id.Verify(sum) == nil {
				res.Status, res.Signer = StatusSigned, k.name
				return res
			}
		}
		res.Status = StatusUntrusted
		res.Reason = fmt.Sprintf("valid signature by issuer %q subject %q, which matches no keyless signer of the trust policy", sum.Issuer, sum.SubjectAlternativeName)
		return res
	}

	if vc.PublicKey() == nil {
		res.Status, res.Reason = StatusInvalid, "no certificate or public key in the verification material"
		return res
	}
	if len(v.keys) == 0 {
		res.Status, res.Reason = StatusInvalid, "signed with a public key, and the trust policy has no key signers"
		return res
	}
	hasLog := len(entries) > 0
	var failures []string
	for _, k := range v.keys {
		var ver *verify.Verifier
		switch {
		case !hasLog && len(timestamps) == 0 && k.key.RequireTlog:
			failures = append(failures, k.name+": no transparency-log entry, and the signer requires one")
			continue
		case !hasLog && len(timestamps) == 0, k.withLog == nil:
			// Nothing to check beyond the signature, or no trust root
			// to check log entries with (not required by the policy).
			ver = k.noLog
		case len(timestamps) > 0 && k.withLogTSA != nil:
			ver = k.withLogTSA
		default:
			ver = k.withLog
		}
		if _, err := ver.Verify(ent, verify.NewPolicy(art.option(), verify.WithKey())); err != nil {
			failures = append(failures, k.name+": "+err.Error())
			continue
		}
		res.Status, res.Signer, res.KeyID = StatusSigned, k.name, k.key.keyID
		if ver != k.noLog {
			v.fillLog(&res, entries)
		}
		return res
	}
	res.Status = StatusInvalid
	res.Reason = "no key of the trust policy verifies the signature (" + strings.Join(failures, "; ") + ")"
	return res
}

// fillLog reports the first log entry the trusted root knows. Verify has
// already required the entries it needs to be valid.
func (v *Verifier) fillLog(res *Result, entries []*tlog.Entry) {
	if v.trusted == nil {
		return
	}
	logs := v.trusted.RekorLogs()
	for _, e := range entries {
		if _, ok := logs[hex.EncodeToString([]byte(e.LogKeyID()))]; !ok {
			continue
		}
		res.LogIndex = e.LogIndex()
		if e.HasInclusionPromise() {
			res.IntegratedTime = e.IntegratedTime().UTC()
		}
		return
	}
}

func keyIDOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}
