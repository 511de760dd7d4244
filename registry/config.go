package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"
)

// MaxConfigBytes bounds the size of a configuration file.
const MaxConfigBytes = 4 << 20

// DefaultInterval is how often a registry is crawled when its entry does
// not say.
const DefaultInterval = time.Hour

// MinInterval is the shortest crawl interval accepted.
const MinInterval = 10 * time.Second

// Config is the registries file: which registries to crawl, how to log in,
// which repositories to track and whom to tell about moved tags.
//
//	registries:
//	  - name: internal
//	    host: registry.example.com:5000
//	    credentials:              # default: the Docker config / credential helpers
//	      username: ci-reader
//	      password_env: REGISTRY_PASSWORD   # the variable's NAME, never the secret
//	    repositories: [team/api, team/web]
//	    catalog:                  # and/or: every repository the catalog lists…
//	      include: ["team/*"]     # …matching one include glob (path.Match)…
//	      exclude: ["team/tmp-*"] # …and no exclude glob
//	    interval: 30m
//	    notify: [https://hooks.example.com/safeguard]
//	    bases: ["mirror/*"]       # tracked repositories that are base images
type Config struct {
	Registries []RegistryConfig `yaml:"registries"`
}

// RegistryConfig is one registry to crawl.
type RegistryConfig struct {
	// Name identifies the entry on the command line.
	Name string `yaml:"name"`
	// Host is the registry host, with its port when not 443.
	Host string `yaml:"host"`
	// Insecure talks plain HTTP (for loopback test registries).
	Insecure bool `yaml:"insecure,omitempty"`
	// Credentials say where the login comes from.
	Credentials Credentials `yaml:"credentials,omitempty"`
	// Repositories are tracked explicitly (paths without the host).
	Repositories []string `yaml:"repositories,omitempty"`
	// Catalog, when set, tracks what /v2/_catalog lists, filtered.
	Catalog *CatalogConfig `yaml:"catalog,omitempty"`
	// Interval between scheduled crawls; DefaultInterval when zero.
	Interval Duration `yaml:"interval,omitempty"`
	// Notify are URLs that receive each moved-tag event as a JSON POST.
	Notify []string `yaml:"notify,omitempty"`
	// Bases are globs (path.Match) over the tracked repository paths that
	// hold base images (mirrors of node, python, alpine, distroless, …).
	// Their images form the preferred part of the base catalogue; every
	// other stored image is catalogued too, at lower preference, so a team's
	// own intermediate images are found as bases, but a copy of a base
	// never wins over the base repository it was copied from.
	Bases []string `yaml:"bases,omitempty"`
}

// IsBase reports whether a repository path of this registry is a base
// repository.
func (r RegistryConfig) IsBase(repo string) bool {
	for _, g := range r.Bases {
		if ok, _ := path.Match(g, repo); ok {
			return true
		}
	}
	return false
}

// IsBase reports whether a repository given as host/path is a configured
// base repository.
func (c *Config) IsBase(repository string) bool {
	if c == nil {
		return false
	}
	for _, r := range c.Registries {
		if p, ok := strings.CutPrefix(repository, r.Host+"/"); ok && r.Tracks(p) && r.IsBase(p) {
			return true
		}
	}
	return false
}

// Credentials select the login. With no field set the Docker config and
// its credential helpers (authn.DefaultKeychain) are used. The file holds
// the NAMES of environment variables, never secrets.
type Credentials struct {
	Username    string `yaml:"username,omitempty"`
	PasswordEnv string `yaml:"password_env,omitempty"`
	TokenEnv    string `yaml:"token_env,omitempty"`
}

// IsZero reports whether no credential field is set (yaml omitempty).
func (c Credentials) IsZero() bool { return c == Credentials{} }

// CatalogConfig filters the repositories the catalog API lists. With no
// include pattern every repository is included.
type CatalogConfig struct {
	Include []string `yaml:"include,omitempty"`
	Exclude []string `yaml:"exclude,omitempty"`
}

// Duration is a time.Duration written as "30m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: interval: want a duration such as 30m", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: interval %q: want a duration such as 30m or 6h", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// IsZero reports an unset duration (yaml omitempty).
func (d Duration) IsZero() bool { return d == 0 }

// CrawlInterval returns the interval, DefaultInterval when unset.
func (r RegistryConfig) CrawlInterval() time.Duration {
	if r.Interval == 0 {
		return DefaultInterval
	}
	return time.Duration(r.Interval)
}

// Registry returns the entry with this name.
func (c *Config) Registry(name string) (RegistryConfig, bool) {
	for _, r := range c.Registries {
		if r.Name == name {
			return r, true
		}
	}
	return RegistryConfig{}, false
}

// Match finds the registry entry tracking a repository given as host/path
// (as a push notification names it) and returns the entry and the path.
func (c *Config) Match(repository string) (RegistryConfig, string, bool) {
	for _, r := range c.Registries {
		p, ok := strings.CutPrefix(repository, r.Host+"/")
		if ok && r.Tracks(p) {
			return r, p, true
		}
	}
	return RegistryConfig{}, "", false
}

// Tracks reports whether a repository path is crawled under this entry:
// listed explicitly, or accepted by the catalog filters.
func (r RegistryConfig) Tracks(repo string) bool {
	for _, x := range r.Repositories {
		if x == repo {
			return true
		}
	}
	return r.Catalog != nil && r.Catalog.Accepts(repo)
}

// Accepts applies the include and exclude globs to a repository path.
func (c *CatalogConfig) Accepts(repo string) bool {
	in := len(c.Include) == 0
	for _, g := range c.Include {
		if ok, _ := path.Match(g, repo); ok {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, g := range c.Exclude {
		if ok, _ := path.Match(g, repo); ok {
			return false
		}
	}
	return true
}

// LoadConfig reads and validates a registries file. Unknown keys are
// rejected; errors name the file and line.
func LoadConfig(file string) (*Config, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("registry config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("registry config %s: %w", file, err)
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("registry config %s: larger than %d bytes", file, MaxConfigBytes)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("registry config %s: %w", file, err)
	}
	return cfg, nil
}

// ParseConfig decodes and validates a registries document.
func ParseConfig(data []byte) (*Config, error) {
	var cfg Config
	if len(bytes.TrimSpace(data)) == 0 {
		return &cfg, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, cleanYAMLError(err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // decoded above, so this parses
	if err := cfg.validate(lines{&root}); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// cleanYAMLError drops yaml.v3's "yaml: unmarshal errors:" preamble and
// names Go types the way the file does.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			m = strings.Replace(m, "in type registry.RegistryConfig", "in a registry entry", 1)
			m = strings.Replace(m, "in type registry.Config", "at the top level (want: registries)", 1)
			m = strings.Replace(m, "in type registry.Credentials", "in credentials (want: username, password_env, token_env)", 1)
			m = strings.Replace(m, "in type registry.CatalogConfig", "in catalog (want: include, exclude)", 1)
			msgs[i] = m
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return err
}

// Validate checks one entry (for entries built in code).
func (r RegistryConfig) Validate() error {
	return r.validate(lines{}, 0)
}

var (
	entryName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (c *Config) validate(ln lines) error {
	seen := map[string]int{}
	for i, r := range c.Registries {
		if err := r.validate(ln, i); err != nil {
			return err
		}
		if j, dup := seen[r.Name]; dup {
			return fmt.Errorf("line %d: registry name %q is used twice (first at line %d)", ln.at(i, "name"), r.Name, ln.at(j, "name"))
		}
		seen[r.Name] = i
	}
	return nil
}

func (r RegistryConfig) validate(ln lines, i int) error {
	where := func(key string) string {
		if l := ln.at(i, key); l > 0 {
			return fmt.Sprintf("line %d: registry %q: ", l, r.Name)
		}
		return fmt.Sprintf("registry %q: ", r.Name)
	}
	switch {
	case r.Name == "":
		return fmt.Errorf("%sname is required", where(""))
	case !entryName.MatchString(r.Name):
		return fmt.Errorf("%sname: use letters, digits, '.', '_' and '-' (up to 63)", where("name"))
	case r.Host == "":
		return fmt.Errorf("%shost is required (host[:port], no scheme)", where(""))
	}
	if strings.Contains(r.Host, "://") || strings.ContainsAny(r.Host, "/?#@ ") {
		return fmt.Errorf("%shost %q: want host[:port] without scheme or path", where("host"), r.Host)
	}
	if _, err := name.NewRegistry(r.Host, name.StrictValidation); err != nil {
		return fmt.Errorf("%shost %q: %v", where("host"), r.Host, err)
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%shost %q: port must be 1-65535", where("host"), r.Host)
		}
	}
	cr := r.Credentials
	switch {
	case cr.TokenEnv != "" && (cr.Username != "" || cr.PasswordEnv != ""):
		return fmt.Errorf("%scredentials: give either token_env or username with password_env, not both", where("credentials"))
	case (cr.Username == "") != (cr.PasswordEnv == "") && cr.TokenEnv == "":
		return fmt.Errorf("%scredentials: username and password_env go together", where("credentials"))
	case cr.PasswordEnv != "" && !envName.MatchString(cr.PasswordEnv):
		return fmt.Errorf("%scredentials: password_env %q is not an environment variable name (the file holds names, never secrets)", where("credentials"), cr.PasswordEnv)
	case cr.TokenEnv != "" && !envName.MatchString(cr.TokenEnv):
		return fmt.Errorf("%scredentials: token_env %q is not an environment variable name (the file holds names, never secrets)", where("credentials"), cr.TokenEnv)
	}
	if len(r.Repositories) == 0 && r.Catalog == nil {
		return fmt.Errorf("%snothing to crawl: list repositories or set catalog", where(""))
	}
	seen := map[string]bool{}
	for _, p := range r.Repositories {
		if seen[p] {
			return fmt.Errorf("%srepository %q is listed twice", where("repositories"), p)
		}
		seen[p] = true
		if err := checkRepoPath(r.Host, p); err != nil {
			return fmt.Errorf("%s%v", where("repositories"), err)
		}
	}
	if r.Catalog != nil {
		for _, g := range append(append([]string{}, r.Catalog.Include...), r.Catalog.Exclude...) {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				return fmt.Errorf("%scatalog: bad glob %q (path.Match syntax: *, ?, [a-z])", where("catalog"), g)
			}
		}
	}
	for _, g := range r.Bases {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			return fmt.Errorf("%sbases: bad glob %q (path.Match syntax: *, ?, [a-z])", where("bases"), g)
		}
		if r.Catalog == nil && !slices.ContainsFunc(r.Repositories, func(p string) bool { ok, _ := path.Match(g, p); return ok }) {
			return fmt.Errorf("%sbases: %q matches none of the tracked repositories (a base repository must be crawled)", where("bases"), g)
		}
	}
	if r.Interval != 0 && time.Duration(r.Interval) < MinInterval {
		return fmt.Errorf("%sinterval %s is shorter than %s", where("interval"), time.Duration(r.Interval), MinInterval)
	}
	for _, n := range r.Notify {
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%snotify: %q is not an http(s) URL", where("notify"), n)
		}
	}
	return nil
}

func checkRepoPath(host, p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, ":@") ||
		slices.Contains(strings.Split(p, "/"), "..") || slices.Contains(strings.Split(p, "/"), ".") {
		return fmt.Errorf("repository %q: want a path such as team/app (no host, tag or digest)", p)
	}
	if _, err := name.NewRepository(host+"/"+p, name.StrictValidation); err != nil {
		return fmt.Errorf("repository %q: %v", p, err)
	}
	return nil
}

// lines finds the line of a registry entry's key in the parsed document.
type lines struct{ root *yaml.Node }

func (l lines) at(i int, key string) int {
	if l.root == nil || len(l.root.Content) == 0 {
		return 0
	}
	regs := mapValue(l.root.Content[0], "registries")
	if regs == nil || regs.Kind != yaml.SequenceNode || i >= len(regs.Content) {
		return 0
	}
	entry := regs.Content[i]
	if key != "" {
		if v := mapValue(entry, key); v != nil {
			return v.Line
		}
	}
	return entry.Line
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value == key {
			return m.Content[j+1]
		}
	}
	return nil
}

// AddToFile appends an entry to a registries file, creating it when
// missing. The existing document (comments included) is kept; the result
// is validated before it replaces the file.
func AddToFile(file string, r RegistryConfig) error {
	var doc yaml.Node
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		data = nil
	case err != nil:
		return fmt.Errorf("registry config: %w", err)
	default:
		if _, err := ParseConfig(data); err != nil {
			return fmt.Errorf("registry config %s: %w", file, err)
		}
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("registry config %s: %w", file, err)
		}
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	top := doc.Content[0]
	regs := mapValue(top, "registries")
	if regs == nil || regs.Kind != yaml.SequenceNode {
		if regs != nil { // "registries:" with no value
			*regs = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		} else {
			regs = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "registries"}, regs)
		}
	}
	var entry yaml.Node
	if err := entry.Encode(r); err != nil {
		return err
	}
	regs.Content = append(regs.Content, &entry)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if _, err := ParseConfig(buf.Bytes()); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dirOf(file), ".registries-*.yaml")
	if err != nil {
		return fmt.Errorf("registry config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("registry config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("registry config: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("registry config: %w", err)
	}
	return os.Rename(tmp.Name(), file)
}

func dirOf(file string) string {
	if i := strings.LastIndexByte(file, os.PathSeparator); i >= 0 {
		return file[:i+1]
	}
	return "."
}
