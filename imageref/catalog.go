package imageref

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed catalog/catalog.yaml
var catalogYAML []byte

// Catalog is what references are compared against: Docker Hub official
// images with their release tag patterns, verified publishers, well-known
// registries, and the organisation's own registries and approved bases.
type Catalog struct {
	official      map[string]*regexp.Regexp // name → release tags (nil: not judged)
	officialOrder []string                  // most used first: ties go to the first
	officialSkel  []string                  // skeleton of each officialOrder name
	generic       map[string]bool           // official names that are everyday words
	publishers    map[string]map[string]bool
	pubOrder      []string
	pubSkel       []string // skeleton of each pubOrder namespace
	registries    []string // well-known registry hosts and domains
	// hostNamespaces are the best-known namespaces of registries where
	// anyone can create one (gcr.io projects, quay.io and ghcr.io accounts).
	hostNamespaces map[string][]nsEntry
	trusted        []string // org registries: "host" or "host/namespace" prefixes
	approved       map[string]bool
	approvedOrder  []Ref
}

type catalogFile struct {
	Vars   map[string]string `yaml:"vars"`
	Images []struct {
		Name string   `yaml:"name"`
		Tags []string `yaml:"tags"`
	} `yaml:"images"`
	Publishers []struct {
		Namespace string   `yaml:"namespace"`
		Images    []string `yaml:"images"`
	} `yaml:"publishers"`
	Registries []string            `yaml:"registries"`
	Generic    []string            `yaml:"generic"`
	Namespaces map[string][]string `yaml:"namespaces"`
}

type nsEntry struct{ name, skel string }

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
	defaultErr  error
)

// Default is the catalogue shipped with the project (see catalog/README.md).
func Default() *Catalog {
	defaultOnce.Do(func() { defaultCat, defaultErr = LoadCatalog(catalogYAML) })
	if defaultErr != nil {
		panic("imageref: embedded catalogue: " + defaultErr.Error())
	}
	return defaultCat
}

var varRef = regexp.MustCompile(`\$\{([a-z]+)\}`)

// LoadCatalog reads a catalogue in the format of catalog/catalog.yaml.
func LoadCatalog(data []byte) (*Catalog, error) {
	var f catalogFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	expand := func(s string) string {
		for i := 0; i < 4 && strings.Contains(s, "${"); i++ {
			s = varRef.ReplaceAllStringFunc(s, func(m string) string { return f.Vars[m[2:len(m)-1]] })
		}
		return s
	}
	c := &Catalog{official: map[string]*regexp.Regexp{}, publishers: map[string]map[string]bool{}, approved: map[string]bool{}, generic: map[string]bool{}}
	for _, im := range f.Images {
		if im.Name == "" {
			return nil, fmt.Errorf("catalogue: image without a name")
		}
		if _, dup := c.official[im.Name]; dup {
			if len(im.Tags) == 0 {
				continue
			}
			return nil, fmt.Errorf("catalogue: image %s listed twice with tags", im.Name)
		}
		var re *regexp.Regexp
		if len(im.Tags) > 0 {
			parts := make([]string, len(im.Tags))
			for i, t := range im.Tags {
				parts[i] = "(?:" + expand(t) + ")"
			}
			var err error
			if re, err = regexp.Compile("^(?:" + strings.Join(parts, "|") + ")$"); err != nil {
				return nil, fmt.Errorf("catalogue: tags of %s: %w", im.Name, err)
			}
		}
		c.official[im.Name] = re
		c.officialOrder = append(c.officialOrder, im.Name)
		c.officialSkel = append(c.officialSkel, skeleton(im.Name))
	}
	for _, p := range f.Publishers {
		if _, dup := c.publishers[p.Namespace]; dup {
			return nil, fmt.Errorf("catalogue: publisher %s listed twice", p.Namespace)
		}
		var ims map[string]bool
		if len(p.Images) > 0 {
			ims = map[string]bool{}
			for _, im := range p.Images {
				ims[im] = true
			}
		}
		c.publishers[p.Namespace] = ims
		c.pubOrder = append(c.pubOrder, p.Namespace)
		c.pubSkel = append(c.pubSkel, skeleton(p.Namespace))
	}
	for _, g := range f.Generic {
		if !c.IsOfficial(g) {
			return nil, fmt.Errorf("catalogue: generic name %s is not an official image", g)
		}
		c.generic[g] = true
	}
	c.registries = append(c.registries, f.Registries...)
	c.hostNamespaces = map[string][]nsEntry{}
	for host, nss := range f.Namespaces {
		for _, ns := range nss {
			c.hostNamespaces[host] = append(c.hostNamespaces[host], nsEntry{ns, skeleton(ns)})
		}
	}
	return c, nil
}

// Extend returns a copy of the catalogue that also knows the organisation's
// own registries ("registry.acme.corp", or "docker.io/acme" for a namespace)
// and its approved base images ("registry.acme.corp/base/node",
// "docker.io/acme/python"). References into them are trusted, and
// look-alikes of them are flagged like look-alikes of the public names.
func (c *Catalog) Extend(orgRegistries, approvedBases []string) (*Catalog, error) {
	n := *c
	n.registries = append([]string(nil), c.registries...)
	n.trusted = append([]string(nil), c.trusted...)
	n.approved = make(map[string]bool, len(c.approved)+len(approvedBases))
	for k := range c.approved {
		n.approved[k] = true
	}
	n.approvedOrder = append([]Ref(nil), c.approvedOrder...)
	n.publishers = make(map[string]map[string]bool, len(c.publishers))
	for k, v := range c.publishers {
		n.publishers[k] = v
	}
	n.pubOrder = append([]string(nil), c.pubOrder...)
	n.pubSkel = append([]string(nil), c.pubSkel...)
	for _, r := range orgRegistries {
		r = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(r)), "/")
		if r == "" {
			continue
		}
		host, ns, _ := strings.Cut(r, "/")
		if dockerHubAliases[host] {
			host = DockerHub
		}
		if rule := checkHost(host); rule != "" {
			return nil, fmt.Errorf("organisation registry %q: %s", r, rule)
		}
		if ns == "" {
			n.registries = append(n.registries, hostOnly(host))
			n.trusted = append(n.trusted, host)
		} else {
			n.trusted = append(n.trusted, host+"/"+ns)
			if host == DockerHub && !strings.Contains(ns, "/") {
				n.addPublisher(ns)
			}
		}
	}
	for _, b := range approvedBases {
		ref, err := Parse(strings.TrimSpace(b))
		if err != nil {
			return nil, fmt.Errorf("approved base: %w", err)
		}
		if !n.approved[ref.Name()] {
			n.approved[ref.Name()] = true
			n.approvedOrder = append(n.approvedOrder, ref)
		}
		if ref.Registry == DockerHub {
			if ns, _, ok := strings.Cut(ref.Repository, "/"); ok && ns != "library" {
				n.addPublisher(ns)
			}
		} else if !n.knownRegistry(hostOnly(ref.Registry)) {
			n.registries = append(n.registries, hostOnly(ref.Registry))
		}
	}
	return &n, nil
}

func (c *Catalog) addPublisher(ns string) {
	if _, ok := c.publishers[ns]; !ok {
		c.publishers[ns] = nil
		c.pubOrder = append(c.pubOrder, ns)
		c.pubSkel = append(c.pubSkel, skeleton(ns))
	}
}

// IsOfficial reports whether name (without library/) is a known official image.
func (c *Catalog) IsOfficial(name string) bool { _, ok := c.official[name]; return ok }

// Officials is the number of official images in the catalogue.
func (c *Catalog) Officials() int { return len(c.official) }

// knownRegistry reports whether host (no port) is a well-known or
// organisation registry, or a subdomain of one.
func (c *Catalog) knownRegistry(host string) bool {
	for _, k := range c.registries {
		if host == k || strings.HasSuffix(host, "."+k) {
			return true
		}
	}
	return false
}

func (c *Catalog) trustedRef(ref Ref) bool {
	name := ref.Name()
	for _, t := range c.trusted {
		if name == t || strings.HasPrefix(name, t+"/") || ref.Registry == t {
			return true
		}
	}
	return c.approved[name]
}

func hostOnly(registry string) string {
	h := strings.ToLower(registry)
	if strings.HasPrefix(h, "[") {
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return h
}
