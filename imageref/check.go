package imageref

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Finding kinds.
const (
	KindTyposquatName      = "typosquat-name"
	KindTyposquatNamespace = "typosquat-namespace"
	KindImpersonation      = "impersonation"
	KindLookalikeRegistry  = "lookalike-registry"
	KindUnknownTag         = "unknown-tag"
	KindMalformed          = "malformed"
	KindUnpinned           = "unpinned"
	KindLatest             = "latest"
)

// Finding is one problem with a reference. Resembles names the well-known
// thing it looks like; Suggestion is the reference probably intended.
type Finding struct {
	Kind       string `json:"kind"`
	Message    string `json:"message"`
	Resembles  string `json:"resembles,omitempty"`
	Suggestion string `json:"suggestion,omitempty"`
}

// TagLister lists a repository's tags from its registry. An error means the
// registry was not reachable; the catalogue's release patterns are used then.
type TagLister interface {
	Tags(ref Ref) ([]string, error)
}

// CheckString parses s and checks it; a malformed reference is one finding.
func CheckString(s string, cat *Catalog, tags TagLister) (Ref, []Finding) {
	ref, err := Parse(s)
	if err != nil {
		return ref, []Finding{Malformed(err)}
	}
	return ref, Check(ref, cat, tags)
}

// Malformed turns a Parse error into a finding.
func Malformed(err error) Finding {
	var e *Error
	if errors.As(err, &e) {
		return Finding{Kind: KindMalformed, Message: fmt.Sprintf("%s is not a valid image reference: %s", quote(e.Input), e.Rule)}
	}
	return Finding{Kind: KindMalformed, Message: err.Error()}
}

// Check returns the findings for a parsed reference: look-alike registry,
// typosquatted name or namespace, impersonation of an official image, a
// tag that is not a release of a known image, a missing digest and
// :latest. Legitimate spellings of a known image give no name findings.
// A nil catalogue means Default(); a nil TagLister means the catalogue's
// release patterns only.
func Check(ref Ref, cat *Catalog, tags TagLister) []Finding {
	if cat == nil {
		cat = Default()
	}
	var out []Finding
	if !cat.trustedRef(ref) {
		host := hostOnly(ref.Registry)
		if !cat.knownRegistry(host) {
			if f, ok := cat.checkRegistry(ref, host); ok {
				out = append(out, f)
			}
		}
		if ref.Registry == DockerHub {
			out = append(out, cat.checkHubName(ref)...)
		} else if len(out) == 0 {
			if f, ok := cat.checkHostNamespace(ref, host); ok {
				out = append(out, f)
			}
		}
	}
	// A look-alike of an approved base is flagged even inside a trusted
	// registry: anyone who can push a repository there can squat on one.
	if len(out) == 0 && !cat.approved[ref.Name()] {
		out = append(out, cat.checkApproved(ref)...)
	}
	if f, ok := cat.checkTag(ref, tags); ok {
		out = append(out, f)
	}
	if !ref.Pinned() {
		// Pin what was meant, not the look-alike.
		meant := ref
		if len(out) > 0 && out[0].Suggestion != "" {
			if m, err := Parse(out[0].Suggestion); err == nil {
				meant = m
			}
		}
		if ref.Tag == implicitLatest {
			msg := ref.Familiar() + " uses the mutable tag :latest"
			if ref.ImplicitLatest {
				msg = ref.Familiar() + " names no tag, so it means the mutable tag :latest"
			}
			out = append(out, Finding{Kind: KindLatest, Message: msg + "; pin a release tag and a digest",
				Suggestion: FamiliarName(meant.Registry, meant.Repository) + ":<release>@sha256:<digest>"})
		}
		out = append(out, Finding{Kind: KindUnpinned, Message: ref.Familiar() + " is not pinned to a digest; the tag can move to other content",
			Suggestion: meant.Familiar() + "@sha256:<digest>"})
	}
	return out
}

// hubAliasOrder is dockerHubAliases without docker.io (a catalogue registry).
var hubAliasOrder = []string{"index.docker.io", "registry-1.docker.io"}

// withName is ref's familiar form with another registry and repository.
func withName(ref Ref, registry, repository string) string {
	r := ref
	r.Registry, r.Repository = registry, repository
	return r.Familiar()
}

func (c *Catalog) checkRegistry(ref Ref, host string) (Finding, bool) {
	for _, k := range c.registries {
		if strings.HasPrefix(host, k+".") || strings.HasPrefix(host, k+"-") {
			return Finding{Kind: KindLookalikeRegistry,
				Message:   fmt.Sprintf("registry %s starts with the well-known registry %s but is another domain", host, k),
				Resembles: k, Suggestion: withName(ref, k, ref.Repository)}, true
		}
	}
	// Docker Hub's other host names (index.docker.io.evil.example).
	for _, k := range hubAliasOrder {
		if strings.HasPrefix(host, k+".") || strings.HasPrefix(host, k+"-") {
			repo := ref.Repository
			if !strings.Contains(repo, "/") {
				repo = officialPrefix + repo
			}
			return Finding{Kind: KindLookalikeRegistry,
				Message:   fmt.Sprintf("registry %s starts with the Docker Hub registry %s but is another domain", host, k),
				Resembles: k, Suggestion: withName(ref, DockerHub, repo)}, true
		}
	}
	if ref.Registry == DockerHub {
		return Finding{}, false
	}
	if u, folded, ok := unicodeHost(host); ok {
		known := append(slices.Clone(c.registries), hubAliasOrder...)
		// The closest reading first: the very name, then a name it starts
		// with, then one a slip away.
		for pass := 0; pass < 3; pass++ {
			for _, k := range known {
				why := ""
				switch {
				case pass == 0 && folded == k:
					why = "its letters from other scripts are drawn like " + quote(k)
				case pass == 1 && (strings.HasPrefix(folded, k+".") || strings.HasPrefix(folded, k+"-")):
					why = "it reads as " + quote(folded) + ", which starts with " + quote(k)
				case pass == 2 && lookalike(folded, k) != "":
					why = "it reads as " + quote(folded) + ": " + lookalike(folded, k)
				}
				if why == "" {
					continue
				}
				meant := k
				if dockerHubAliases[k] {
					meant = DockerHub
				}
				return Finding{Kind: KindLookalikeRegistry,
					Message:   fmt.Sprintf("registry %s is the internationalised name %s, which looks like the well-known registry %s (%s)", host, u, k, why),
					Resembles: k, Suggestion: withName(ref, meant, ref.Repository)}, true
			}
		}
	}
	for _, k := range c.registries {
		if why := lookalike(host, k); why != "" {
			return Finding{Kind: KindLookalikeRegistry,
				Message:   fmt.Sprintf("registry %s looks like the well-known registry %s (%s)", host, k, why),
				Resembles: k, Suggestion: withName(ref, k, ref.Repository)}, true
		}
	}
	return Finding{}, false
}

// checkHostNamespace compares the namespace of a reference on a registry
// where anyone can open one (gcr.io/distro1ess) with that registry's
// well-known namespaces.
func (c *Catalog) checkHostNamespace(ref Ref, host string) (Finding, bool) {
	known := c.hostNamespaces[host]
	if _, parent, ok := strings.Cut(host, "."); ok && len(known) == 0 {
		known = c.hostNamespaces[parent] // us.gcr.io, eu.gcr.io
	}
	ns, rest, ok := strings.Cut(ref.Repository, "/")
	if !ok || len(known) == 0 {
		return Finding{}, false
	}
	for _, k := range known {
		if k.name == ns {
			return Finding{}, false
		}
	}
	sk := skeleton(ns)
	for _, k := range known {
		if why := lookalikeNamespace(ns, sk, k.name, k.skel); why != "" {
			return Finding{Kind: KindTyposquatNamespace,
				Message:   fmt.Sprintf("namespace %s/%s looks like %s/%s (%s); %s is not %s/%s/%s", host, ns, host, k.name, why, ref.Name(), ref.Registry, k.name, rest),
				Resembles: host + "/" + k.name, Suggestion: withName(ref, ref.Registry, k.name+"/"+rest)}, true
		}
	}
	return Finding{}, false
}

// nearestOfficial is the official image name most resembles: a homoglyph
// look-alike first, else the fewest edits (ties to the most used image).
func (c *Catalog) nearestOfficial(name string) (string, string) {
	sk := skeleton(name)
	best, bestWhy, bestD := "", "", 99
	for i, k := range c.officialOrder {
		why := lookalikeSkel(name, sk, k, c.officialSkel[i])
		if why == "" {
			continue
		}
		if strings.HasPrefix(why, "homoglyph") {
			return k, why
		}
		if d := distance(name, k, 3); d < bestD {
			best, bestWhy, bestD = k, why, d
		}
	}
	return best, bestWhy
}

func (c *Catalog) checkHubName(ref Ref) []Finding {
	ns, name, _ := strings.Cut(ref.Repository, "/")
	if ns == "library" {
		if c.IsOfficial(name) {
			return nil
		}
		if k, why := c.nearestOfficial(name); k != "" {
			return []Finding{{Kind: KindTyposquatName,
				Message:   fmt.Sprintf("%s is not an official image; it looks like the official image %s (%s)", name, k, why),
				Resembles: k, Suggestion: withName(ref, DockerHub, "library/"+k)}}
		}
		return nil
	}
	if ims, ok := c.publishers[ns]; ok {
		if ims == nil || ims[name] {
			return nil
		}
		for _, k := range sortedKeys(ims) {
			if why := lookalike(name, k); why != "" {
				return []Finding{{Kind: KindTyposquatName,
					Message:   fmt.Sprintf("%s/%s looks like %s/%s (%s)", ns, name, ns, k, why),
					Resembles: ns + "/" + k, Suggestion: withName(ref, DockerHub, ns+"/"+k)}}
			}
		}
		return nil
	}
	// Unknown namespace: a look-alike of a known one?
	nsSkel := skeleton(ns)
	for i, p := range c.pubOrder {
		why := lookalikeNamespace(ns, nsSkel, p, c.pubSkel[i])
		if why == "" {
			continue
		}
		target := name
		if p == "library" {
			if k, _ := c.nearestOfficial(name); k != "" && !c.IsOfficial(name) {
				target = k
			}
			return []Finding{{Kind: KindTyposquatNamespace,
				Message:   fmt.Sprintf("namespace %s looks like %s (%s); %s/%s is not the official image %s", ns, p, why, ns, name, target),
				Resembles: target, Suggestion: withName(ref, DockerHub, "library/"+target)}}
		}
		if ims := c.publishers[p]; ims != nil && !ims[name] {
			for _, im := range sortedKeys(ims) {
				if lookalike(name, im) != "" {
					target = im
					break
				}
			}
		}
		return []Finding{{Kind: KindTyposquatNamespace,
			Message:   fmt.Sprintf("namespace %s looks like the publisher %s (%s); %s/%s is not %s/%s", ns, p, why, ns, name, p, target),
			Resembles: p + "/" + target, Suggestion: withName(ref, DockerHub, p+"/"+target)}}
	}
	// A known official name under an unknown namespace.
	off := ""
	if c.IsOfficial(name) {
		if !c.generic[name] {
			off = name
		}
	} else if k, why := c.nearestOfficial(name); k != "" && strings.HasPrefix(why, "homoglyph") {
		off = k
	}
	if off != "" && !strings.Contains(name, "/") {
		return []Finding{{Kind: KindImpersonation,
			Message:   fmt.Sprintf("%s/%s carries the name of the official image %s under the unknown namespace %s", ns, name, off, ns),
			Resembles: off, Suggestion: withName(ref, DockerHub, "library/"+off)}}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkApproved compares a reference on another registry with the
// organisation's approved bases on the same registry.
func (c *Catalog) checkApproved(ref Ref) []Finding {
	for _, a := range c.approvedOrder {
		if a.Registry != ref.Registry || a.Repository == ref.Repository {
			continue
		}
		if why := lookalike(ref.Repository, a.Repository); why != "" {
			return []Finding{{Kind: KindTyposquatName,
				Message:   fmt.Sprintf("%s looks like the approved base %s (%s)", ref.Name(), a.Name(), why),
				Resembles: a.Name(), Suggestion: withName(ref, a.Registry, a.Repository)}}
		}
	}
	return nil
}

func (c *Catalog) checkTag(ref Ref, lister TagLister) (Finding, bool) {
	if ref.ImplicitLatest || ref.Tag == "" || !ref.Official() {
		return Finding{}, false
	}
	name := ref.Repository[len(officialPrefix):]
	re := c.official[name]
	if lister != nil {
		if list, err := lister.Tags(ref); err == nil && len(list) > 0 {
			if slices.Contains(list, ref.Tag) {
				return Finding{}, false
			}
			best, bestD := "", 99
			for _, t := range list {
				if d := distance(ref.Tag, t, 4); d < bestD {
					best, bestD = t, d
				}
			}
			f := Finding{Kind: KindUnknownTag,
				Message: fmt.Sprintf("%s:%s is not in the registry's tag list for %s", name, ref.Tag, name)}
			if bestD < 4 {
				f.Resembles = name + ":" + best
				f.Suggestion = withTag(ref, best)
			}
			return f, true
		}
	}
	if re == nil || re.MatchString(ref.Tag) {
		return Finding{}, false
	}
	f := Finding{Kind: KindUnknownTag,
		Message: fmt.Sprintf("%s:%s is not a release of %s (no release tag has this form)", name, ref.Tag, name)}
	if t := nearTag(ref.Tag, re); t != "" {
		f.Message += "; did you mean " + name + ":" + t + "?"
		f.Resembles = name + ":" + t
		f.Suggestion = withTag(ref, t)
	}
	return f, true
}

var digitGlyphs = map[byte]byte{'O': '0', 'o': '0', 'l': '1', 'I': '1', 'i': '1', 'S': '5', 'B': '8'}

func withTag(ref Ref, tag string) string {
	r := ref
	r.Tag, r.ImplicitLatest = tag, false
	return r.Familiar()
}

// nearTag finds a release tag one deletion or transposition away from tag,
// trying the end of the tag first (alpine:3.154 → 3.15).
func nearTag(tag string, re interface{ MatchString(string) bool }) string {
	// A letter typed for the digit it looks like (node:2O) first: it keeps
	// the length, so it is the likelier intent than a deletion.
	for i := 0; i < len(tag); i++ {
		if d, ok := digitGlyphs[tag[i]]; ok {
			if t := tag[:i] + string(d) + tag[i+1:]; re.MatchString(t) {
				return t
			}
		}
	}
	for i := len(tag) - 1; i >= 0; i-- {
		if t := tag[:i] + tag[i+1:]; t != "" && re.MatchString(t) {
			return t
		}
	}
	for i := len(tag) - 2; i >= 0; i-- {
		b := []byte(tag)
		b[i], b[i+1] = b[i+1], b[i]
		if t := string(b); re.MatchString(t) {
			return t
		}
	}
	return ""
}
