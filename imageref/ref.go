package imageref

import (
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// Docker Hub names.
const (
	DockerHub       = "docker.io"
	officialPrefix  = "library/"
	maxNameLength   = 255
	maxTagLength    = 128
	implicitLatest  = "latest"
	sha256HexLength = 64
)

// dockerHubAliases are hosts that serve Docker Hub and normalise to docker.io.
var dockerHubAliases = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// IsDockerHubAlias reports whether host (no port) serves Docker Hub and
// normalises to docker.io.
func IsDockerHubAlias(host string) bool { return dockerHubAliases[host] }

// Ref is a parsed, normalised image reference.
type Ref struct {
	Raw        string // the input as given
	Registry   string // "docker.io", "ghcr.io", "localhost:5000"
	Repository string // "library/ubuntu", "acme/tool"
	Tag        string // "20.04"; "latest" when ImplicitLatest
	Digest     string // "sha256:…"; empty when not pinned
	// ImplicitLatest is true when the input named neither tag nor digest,
	// so the tag "latest" was assumed.
	ImplicitLatest bool
}

// Name is the fully qualified repository: "docker.io/library/ubuntu".
func (r Ref) Name() string { return r.Registry + "/" + r.Repository }

// Pinned reports whether the reference names a digest. A digest makes the
// reference immutable whatever the tag says, and is what gets resolved.
func (r Ref) Pinned() bool { return r.Digest != "" }

// String is the normalised reference: registry/repository[:tag][@digest].
func (r Ref) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Familiar is the short form people write: "ubuntu:20.04",
// "jwilder/nginx-proxy", "ghcr.io/acme/tool:1.0". An implicit latest stays
// implicit.
func (r Ref) Familiar() string {
	s := FamiliarName(r.Registry, r.Repository)
	if r.Tag != "" && !r.ImplicitLatest {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// FamiliarName shortens a registry and repository to the form people write.
func FamiliarName(registry, repository string) string {
	if registry == DockerHub {
		return strings.TrimPrefix(repository, officialPrefix)
	}
	return registry + "/" + repository
}

// Official reports whether the reference names a Docker Hub official image.
func (r Ref) Official() bool {
	return r.Registry == DockerHub && strings.HasPrefix(r.Repository, officialPrefix) &&
		!strings.Contains(r.Repository[len(officialPrefix):], "/")
}

// Error is a malformed reference; Rule names the grammar rule it breaks.
type Error struct {
	Input string
	Rule  string
}

func (e *Error) Error() string {
	return "invalid image reference " + quote(e.Input) + ": " + e.Rule
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}

// Grammar rules, as reported in Error.Rule.
const (
	RuleEmpty           = "reference is empty"
	RuleWhitespace      = "reference may not contain whitespace or control characters"
	RuleNameTooLong     = "repository name may not exceed 255 characters"
	RuleTagEmpty        = "tag may not be empty after ':'"
	RuleTagStart        = "tag must start with a letter, digit or underscore"
	RuleTagChars        = "tag may contain only letters, digits, '_', '.' and '-'"
	RuleTagTooLong      = "tag may not exceed 128 characters"
	RuleDigestFormat    = "digest must be algorithm:hex, such as sha256: followed by 64 lowercase hex digits"
	RuleDigestLength    = "sha256 digest must have exactly 64 hex digits"
	RuleDigestHex       = "digest must be lowercase hex"
	RuleHostUnderscore  = "registry host may not contain '_'"
	RuleHostLabel       = "registry host labels must start and end with a letter or digit and contain only letters, digits and '-'"
	RuleHostPort        = "registry port must be a number"
	RuleHostPortRange   = "registry port must be between 1 and 65535"
	RuleHostEmpty       = "registry host may not be empty"
	RuleRepoEmpty       = "repository path component may not be empty"
	RuleRepoUppercase   = "repository must be lowercase"
	RuleRepoComponent   = "repository path components must start and end with a lowercase letter or digit"
	RuleRepoChars       = "repository may contain only lowercase letters, digits and the separators '.', '_', '__' and '-'"
	RuleRepoSeparators  = "repository separators may not be repeated (only '__' and runs of '-' are allowed)"
	RuleRepoHexIdentity = "repository may not be a 64-character hex string (it would be read as an image ID)"
	RuleMissingName     = "reference has a tag or digest but no repository name"
	RuleDigestAlgorithm = "digest algorithm must be sha256, sha384 or sha512"
)

// Rules lists every rule Error.Rule can name.
var Rules = []string{RuleEmpty, RuleWhitespace, RuleNameTooLong, RuleTagEmpty, RuleTagStart, RuleTagChars,
	RuleTagTooLong, RuleDigestFormat, RuleDigestLength, RuleDigestHex, RuleHostUnderscore, RuleHostLabel,
	RuleHostPort, RuleHostEmpty, RuleRepoEmpty, RuleRepoUppercase, RuleRepoComponent, RuleRepoChars,
	RuleRepoSeparators, RuleRepoHexIdentity, RuleMissingName, RuleDigestAlgorithm, RuleHostPortRange,
	"sha384 digest must have exactly 96 hex digits", "sha512 digest must have exactly 128 hex digits"}

// Parse parses and normalises an image reference. Short names normalise to
// Docker Hub (ubuntu → docker.io/library/ubuntu:latest); index.docker.io and
// registry-1.docker.io normalise to docker.io. A host:port counts as a
// registry only when followed by '/' (test.com:5000 is the image test.com
// with tag 5000). With both a tag and a digest, the digest is what gets
// resolved (Pinned), the tag is kept for information.
func Parse(s string) (Ref, error) {
	ref := Ref{Raw: s}
	fail := func(rule string) (Ref, error) { return Ref{Raw: s}, &Error{Input: s, Rule: rule} }
	if s == "" {
		return fail(RuleEmpty)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return fail(RuleWhitespace)
		}
	}
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d := rest[i+1:]
		if rule := checkDigest(d); rule != "" {
			return fail(rule)
		}
		ref.Digest = d
		rest = rest[:i]
	}
	lastSlash := strings.LastIndexByte(rest, '/')
	if i := strings.LastIndexByte(rest, ':'); i > lastSlash {
		t := rest[i+1:]
		if rule := checkTag(t); rule != "" {
			return fail(rule)
		}
		ref.Tag = t
		rest = rest[:i]
	}
	if rest == "" {
		return fail(RuleMissingName)
	}
	if len(rest) > maxNameLength {
		return fail(RuleNameTooLong)
	}
	domain, path := DockerHub, rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		first := rest[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			domain, path = first, rest[i+1:]
			if rule := checkHost(domain); rule != "" {
				return fail(rule)
			}
		}
	}
	if rule := checkPath(path); rule != "" {
		return fail(rule)
	}
	// The reference grammar has the last word: anything our rules let
	// through that it refuses is still an error, with its message as rule.
	if _, err := reference.ParseNormalizedNamed(s); err != nil {
		rule := err.Error()
		if strings.Contains(rule, "64-byte hexadecimal") {
			rule = RuleRepoHexIdentity
		}
		return fail(rule)
	}
	if dockerHubAliases[domain] {
		domain = DockerHub
	}
	if domain == DockerHub && !strings.Contains(path, "/") {
		path = officialPrefix + path
	}
	ref.Registry, ref.Repository = domain, path
	if ref.Tag == "" && ref.Digest == "" {
		ref.Tag, ref.ImplicitLatest = implicitLatest, true
	}
	return ref, nil
}

// MustParse is Parse for references known to be valid; it panics otherwise.
func MustParse(s string) Ref {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func checkTag(t string) string {
	switch {
	case t == "":
		return RuleTagEmpty
	case !isWordChar(t[0]):
		return RuleTagStart
	case len(t) > maxTagLength:
		return RuleTagTooLong
	}
	for i := 1; i < len(t); i++ {
		if c := t[i]; !isWordChar(c) && c != '.' && c != '-' {
			return RuleTagChars
		}
	}
	return ""
}

// digestHexLength is the length of each algorithm's hex digest; these are
// the algorithms an OCI registry accepts.
var digestHexLength = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

func checkDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || alg == "" || hex == "" || !validAlgorithm(alg) {
		return RuleDigestFormat
	}
	want, known := digestHexLength[alg]
	if !known {
		return RuleDigestAlgorithm
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !(c >= 'a' && c <= 'f' || c >= '0' && c <= '9') {
			return RuleDigestHex
		}
	}
	if len(hex) != want {
		if alg == "sha256" {
			return RuleDigestLength
		}
		return alg + " digest must have exactly " + strconv.Itoa(want) + " hex digits"
	}
	return ""
}

// validAlgorithm is the grammar's [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*.
func validAlgorithm(a string) bool {
	start := true
	for i := 0; i < len(a); i++ {
		c := a[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		switch {
		case start && !letter:
			return false
		case c == '-' || c == '_' || c == '+' || c == '.':
			start = true
			continue
		case !letter && !(c >= '0' && c <= '9'):
			return false
		}
		start = false
	}
	return !start
}

func checkHost(h string) string {
	host, port := h, ""
	if strings.HasPrefix(h, "[") { // IPv6 literal
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return RuleHostLabel
		}
		host, port = h[1:end], h[end+1:]
		if port != "" && port[0] != ':' {
			return RuleHostLabel
		}
		port = strings.TrimPrefix(port, ":")
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':') {
				return RuleHostLabel
			}
		}
	} else {
		if i := strings.IndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i+1:]
			if strings.IndexByte(port, ':') >= 0 {
				return RuleHostPort
			}
		}
		if host == "" {
			return RuleHostEmpty
		}
		if strings.IndexByte(host, '_') >= 0 {
			return RuleHostUnderscore
		}
		for _, label := range strings.Split(host, ".") {
			if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
				return RuleHostLabel
			}
			for i := 0; i < len(label); i++ {
				c := label[i]
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
					return RuleHostLabel
				}
			}
		}
	}
	if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") || port != "" {
		if port == "" {
			return RuleHostPort
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return RuleHostPort
			}
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return RuleHostPortRange
		}
	}
	return ""
}

func checkPath(p string) string {
	for _, comp := range strings.Split(p, "/") {
		if comp == "" {
			return RuleRepoEmpty
		}
		if strings.ToLower(comp) != comp {
			return RuleRepoUppercase
		}
		for i := 0; i < len(comp); i++ {
			c := comp[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return RuleRepoChars
			}
		}
		if isSep(comp[0]) || isSep(comp[len(comp)-1]) {
			return RuleRepoComponent
		}
		// separators: '.', '_', '__', or one or more '-'
		for i := 0; i < len(comp); {
			if !isSep(comp[i]) {
				i++
				continue
			}
			j := i
			for j < len(comp) && isSep(comp[j]) {
				j++
			}
			run := comp[i:j]
			if !(run == "." || run == "_" || run == "__" || strings.Trim(run, "-") == "") {
				return RuleRepoSeparators
			}
			i = j
		}
	}
	return ""
}

func isSep(c byte) bool { return c == '.' || c == '_' || c == '-' }
