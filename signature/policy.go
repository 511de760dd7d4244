package signature

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"gopkg.in/yaml.v3"
)

// Policy is the trust policy: who may sign, and the Sigstore trust material
// their signatures are checked against. It is loaded and validated once
// (LoadPolicy, ParsePolicy) and read-only afterwards; a Verifier is built
// from it.
type Policy struct {
	Signers     []Signer
	TrustedRoot TrustedRootSource

	// trustedRootJSON is the trusted root as loaded (file or TUF cache),
	// nil when the policy has none. Kept so Hash covers it and the Verifier
	// does not read the disk again.
	trustedRootJSON []byte
	trustedRoot     *root.TrustedRoot
}

// Signer is one named entry of the policy: exactly one of Keyless and Key.
type Signer struct {
	Name    string
	Keyless *KeylessSigner
	Key     *KeySigner
}

// KeylessSigner is a Fulcio identity: OIDC issuer (exact) and certificate
// subject (exact, or an anchored regular expression).
type KeylessSigner struct {
	Issuer        string
	Subject       string
	SubjectRegexp string

	// anchored is SubjectRegexp compiled as ^(?:…)$.
	anchored *regexp.Regexp
}

// AnchoredSubjectRegexp returns the regular expression the subject is really
// matched with: the configured one wrapped in ^(?:…)$, so it must match the
// whole subject. Empty when the signer uses an exact subject.
func (k *KeylessSigner) AnchoredSubjectRegexp() string {
	if k.anchored == nil {
		return ""
	}
	return k.anchored.String()
}

// KeySigner is a long-lived public key (PEM: ECDSA, RSA or Ed25519).
type KeySigner struct {
	// Path is the PEM file as written in the policy (relative paths are
	// resolved against the policy file's directory).
	Path string
	// RequireTlog refuses signatures that have no transparency-log entry.
	// Without it a key signature without a log entry is accepted (cosign
	// sign --tlog-upload=false, containers/image fixtures); a log entry
	// that is present is always checked.
	RequireTlog bool

	pub   crypto.PublicKey
	der   []byte
	keyID string
}

// KeyID is "sha256:<hex>" of the key's DER (PKIX) encoding.
func (k *KeySigner) KeyID() string { return k.keyID }

// TrustedRootSource says where the Sigstore trusted root comes from: a
// trusted_root.json file, or the TUF cache of a Sigstore instance.
type TrustedRootSource struct {
	File string
	TUF  *TUFSource
}

// TUFSource is a TUF repository (default: the Sigstore public-good
// instance) whose trusted_root.json target is cached on disk.
type TUFSource struct {
	CacheDir  string
	MirrorURL string
}

// DefaultTUFMirror is the Sigstore public-good TUF repository.
const DefaultTUFMirror = "https://tuf-repo-cdn.sigstore.dev"

// yaml shapes: kept apart from the API types so KnownFields catches typos
// and the API types can hold compiled state.
type policyFile struct {
	Signers     []signerFile     `yaml:"signers"`
	TrustedRoot *trustedRootFile `yaml:"trusted_root"`
}

type signerFile struct {
	Name        string       `yaml:"name"`
	Keyless     *keylessFile `yaml:"keyless"`
	Key         string       `yaml:"key"`
	RequireTlog bool         `yaml:"require_tlog"`
}

type keylessFile struct {
	Issuer        string `yaml:"issuer"`
	Subject       string `yaml:"subject"`
	SubjectRegexp string `yaml:"subject_regexp"`
}

type trustedRootFile struct {
	File string   `yaml:"file"`
	TUF  *tufFile `yaml:"tuf"`
}

type tufFile struct {
	CacheDir  string `yaml:"cache_dir"`
	MirrorURL string `yaml:"mirror_url"`
}

// LoadPolicy reads and validates a policy file. Relative paths in it (keys,
// trusted root file, TUF cache) are resolved against the file's directory.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust policy: %w", err)
	}
	p, err := ParsePolicy(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("trust policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy parses and validates policy YAML; baseDir resolves relative
// paths. It loads the keys and the trusted root (offline: from the file or
// the TUF cache), so every configuration mistake is reported here, at load
// time, and not as a failed verification later.
func ParsePolicy(data []byte, baseDir string) (*Policy, error) {
	var pf policyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&pf); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(pf.Signers) == 0 {
		return nil, errors.New("signers: at least one signer is required")
	}
	resolve := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(baseDir, p)
	}

	p := &Policy{}
	names := map[string]bool{}
	needsRoot := false
	for i, sf := range pf.Signers {
		where := fmt.Sprintf("signers[%d]", i)
		if sf.Name == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		where = fmt.Sprintf("signer %q", sf.Name)
		if names[sf.Name] {
			return nil, fmt.Errorf("%s: duplicate signer name", where)
		}
		names[sf.Name] = true
		switch {
		case sf.Keyless != nil && sf.Key != "":
			return nil, fmt.Errorf("%s: set either keyless or key, not both", where)
		case sf.Keyless == nil && sf.Key == "":
			return nil, fmt.Errorf("%s: set keyless {issuer, subject|subject_regexp} or key: <path.pem>", where)
		case sf.Keyless != nil:
			if sf.RequireTlog {
				return nil, fmt.Errorf("%s: require_tlog applies to key signers (keyless signatures always need a log entry or timestamp)", where)
			}
			k, err := compileKeyless(sf.Keyless)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			p.Signers = append(p.Signers, Signer{Name: sf.Name, Keyless: k})
			needsRoot = true
		default:
			k, err := loadKey(resolve(sf.Key))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			k.Path = sf.Key
			k.RequireTlog = sf.RequireTlog
			if sf.RequireTlog {
				needsRoot = true
			}
			p.Signers = append(p.Signers, Signer{Name: sf.Name, Key: k})
		}
	}

	if pf.TrustedRoot != nil {
		tr := pf.TrustedRoot
		switch {
		case tr.File != "" && tr.TUF != nil:
			return nil, errors.New("trusted_root: set either file or tuf, not both")
		case tr.File != "":
			p.TrustedRoot.File = resolve(tr.File)
		case tr.TUF != nil:
			src := &TUFSource{CacheDir: resolve(tr.TUF.CacheDir), MirrorURL: tr.TUF.MirrorURL}
			if src.CacheDir == "" {
				return nil, errors.New("trusted_root.tuf: cache_dir is required (verification reads the trusted root from it, offline)")
			}
			if src.MirrorURL == "" {
				src.MirrorURL = DefaultTUFMirror
			}
			if !strings.HasPrefix(src.MirrorURL, "https://") && !strings.HasPrefix(src.MirrorURL, "http://") {
				return nil, fmt.Errorf("trusted_root.tuf: mirror_url %q is not an http(s) URL", src.MirrorURL)
			}
			p.TrustedRoot.TUF = src
		default:
			return nil, errors.New("trusted_root: set file: <trusted_root.json> or tuf: {cache_dir, mirror_url}")
		}
		raw, err := readTrustedRoot(p.TrustedRoot)
		if err != nil {
			return nil, err
		}
		tr2, err := root.NewTrustedRootFromJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("trusted_root: %w", err)
		}
		p.trustedRootJSON, p.trustedRoot = raw, tr2
	} else if needsRoot {
		return nil, errors.New("trusted_root is required: keyless signers and require_tlog are checked against Sigstore trust material (file or tuf)")
	}
	return p, nil
}

func compileKeyless(k *keylessFile) (*KeylessSigner, error) {
	if strings.TrimSpace(k.Issuer) == "" {
		return nil, errors.New("keyless: issuer is required (an identity without an issuer would accept any OIDC provider)")
	}
	if k.Issuer != strings.TrimSpace(k.Issuer) {
		return nil, fmt.Errorf("keyless: issuer %q has surrounding spaces", k.Issuer)
	}
	switch {
	case k.Subject != "" && k.SubjectRegexp != "":
		return nil, errors.New("keyless: set subject (exact) or subject_regexp, not both")
	case k.Subject == "" && k.SubjectRegexp == "":
		return nil, errors.New("keyless: subject or subject_regexp is required (a keyless signer without an identity would accept anyone)")
	}
	out := &KeylessSigner{Issuer: k.Issuer, Subject: k.Subject, SubjectRegexp: k.SubjectRegexp}
	if k.SubjectRegexp != "" {
		if _, err := regexp.Compile(k.SubjectRegexp); err != nil {
			return nil, fmt.Errorf("keyless: subject_regexp: %w", err)
		}
		// Anchor even when the user wrote ^…$ already: ^(?:^a$)$ is the same
		// language, and an unanchored "acme/app" would match
		// "evil/acme/app-fork".
		out.anchored = regexp.MustCompile("^(?:" + k.SubjectRegexp + ")$")
	}
	return out, nil
}

func loadKey(path string) (*KeySigner, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return parseKeyPEM(data)
}

// parseKeyPEM accepts one PEM "PUBLIC KEY" (PKIX) block holding an ECDSA
// (P-256, P-384, P-521), RSA (2048 bits or more) or Ed25519 key.
func parseKeyPEM(data []byte) (*KeySigner, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("key: no PEM block found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("key: more than one PEM block; put one public key per file")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("key: PEM block is %q, want \"PUBLIC KEY\"", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve.Params().Name {
		case "P-256", "P-384", "P-521":
		default:
			return nil, fmt.Errorf("key: unsupported ECDSA curve %s", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("key: RSA key of %d bits is too small (want 2048 or more)", k.N.BitLen())
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("key: unsupported key type %T (want ECDSA, RSA or Ed25519)", pub)
	}
	sum := sha256.Sum256(block.Bytes)
	return &KeySigner{pub: pub, der: block.Bytes, keyID: "sha256:" + hex.EncodeToString(sum[:])}, nil
}

// Hash identifies the policy's meaning: signers in order (names, identities
// with their anchored regexps, key DER bytes, require_tlog) and the trusted
// root bytes. It ignores formatting, comments and file paths, so a status
// cached under one hash is valid exactly as long as the policy means the same.
func (p *Policy) Hash() string {
	type hs struct {
		Name, Kind, Issuer, Subject, Regexp, Key string
		RequireTlog                              bool
	}
	var doc struct {
		Version     int
		Signers     []hs
		TrustedRoot string
	}
	doc.Version = 1
	for _, s := range p.Signers {
		h := hs{Name: s.Name}
		if s.Keyless != nil {
			h.Kind, h.Issuer, h.Subject, h.Regexp = "keyless", s.Keyless.Issuer, s.Keyless.Subject, s.Keyless.AnchoredSubjectRegexp()
		} else if s.Key != nil {
			h.Kind, h.Key, h.RequireTlog = "key", hex.EncodeToString(s.Key.der), s.Key.RequireTlog
		}
		doc.Signers = append(doc.Signers, h)
	}
	if p.trustedRootJSON != nil {
		sum := sha256.Sum256(p.trustedRootJSON)
		doc.TrustedRoot = hex.EncodeToString(sum[:])
	}
	b, _ := json.Marshal(doc) // struct of strings: cannot fail
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
