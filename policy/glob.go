package policy

import (
	"fmt"
	"strings"
)

// Image patterns name repositories the way people write them and are
// normalised like references: "websphere-liberty:*" means
// "docker.io/library/websphere-liberty:*". In a pattern, * matches within
// one path component (no '/'), ** matches anything. A pattern with a tag
// (":…" after the last '/') or a digest ("@…") is matched against
// name:tag or name@digest; otherwise against the repository name alone.
type imagePattern struct {
	raw, norm string
	hasTag    bool
	hasDigest bool
}

func compilePattern(raw string) (imagePattern, error) {
	p := strings.TrimSpace(raw)
	if p == "" {
		return imagePattern{}, fmt.Errorf("empty image pattern")
	}
	if strings.ContainsAny(p, " \t\n") {
		return imagePattern{}, fmt.Errorf("image pattern %q contains whitespace", raw)
	}
	ip := imagePattern{raw: raw}
	name := p
	if i := strings.Index(name, "@"); i >= 0 {
		ip.hasDigest = true
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		ip.hasTag = true
		name = name[:i]
	}
	// References are lowercase (hosts as written, repositories always): a
	// pattern with a capital letter would match nothing, and a scope that
	// matches nothing turns its rule off without a word.
	if strings.ToLower(name) != name {
		return imagePattern{}, fmt.Errorf("image pattern %q: %q has capital letters and would match no reference; write it in lowercase", raw, name)
	}
	ip.norm = normaliseName(p)
	return ip, nil
}

// normaliseName applies Docker Hub's defaults to a name or pattern: a first
// component without '.' or ':' (and not localhost) is not a registry.
func normaliseName(p string) string {
	if strings.HasPrefix(p, "*") {
		return p
	}
	first, rest, found := strings.Cut(p, "/")
	isHost := found && (strings.ContainsAny(first, ".:") || first == "localhost")
	if isHost {
		if first == "index.docker.io" || first == "registry-1.docker.io" {
			first = "docker.io"
		}
		if first == "docker.io" && !strings.Contains(rest, "/") {
			rest = "library/" + rest
		}
		return first + "/" + rest
	}
	if !found {
		return "docker.io/library/" + p
	}
	return "docker.io/" + p
}

// matchRef matches a reference (and the other tags of its digest).
func (ip imagePattern) matchRef(r Reference, tags []string) bool {
	switch {
	case ip.hasDigest:
		return r.Digest != "" && (glob(ip.norm, withoutTag(r)+"@"+r.Digest) || glob(ip.norm, r.Name+"@"+r.Digest))
	case ip.hasTag:
		if r.Tag != "" && glob(ip.norm, r.Name+":"+r.Tag) {
			return true
		}
		for _, t := range tags {
			if glob(ip.norm, normaliseName(t)) {
				return true
			}
		}
		return false
	}
	return glob(ip.norm, r.Name)
}

func withoutTag(r Reference) string {
	if r.Tag != "" {
		return r.Name + ":" + r.Tag
	}
	return r.Name
}

// glob matches s against a pattern where * is any run without '/' and **
// is any run.
func glob(pat, s string) bool {
	for len(pat) > 0 {
		if pat[0] != '*' {
			if len(s) == 0 || s[0] != pat[0] {
				return false
			}
			pat, s = pat[1:], s[1:]
			continue
		}
		deep := strings.HasPrefix(pat, "**")
		if deep {
			pat = pat[2:]
		} else {
			pat = pat[1:]
		}
		for i := 0; i <= len(s); i++ {
			if glob(pat, s[i:]) {
				return true
			}
			if i < len(s) && s[i] == '/' && !deep {
				return false
			}
		}
		return false
	}
	return len(s) == 0
}

// globAny reports whether any plain glob (builder ids, source
// repositories) matches s.
func globAny(pats []string, s string) bool {
	for _, p := range pats {
		if glob(p, s) {
			return true
		}
	}
	return false
}
