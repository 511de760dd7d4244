package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func parse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), "testdata")
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, doc)
	}
	return p
}

// one is a policy of a single rule.
func one(t testing.TB, typ, with string) *Policy {
	return parse(t, fmt.Sprintf("version: 1\nname: t\ntrust_policy: trust.yaml\norg_registries: [registry.acme.corp]\nrules:\n  - name: r\n    type: %s\n    with: %s\n", typ, with))
}

func hex64(n int) string { return fmt.Sprintf("sha256:%064x", n) }

// clean is an image that passes every rule of the tests.
func clean() Facts {
	return Facts{
		Digest:    hex64(1),
		Reference: mustRef("registry.acme.corp/app@" + hex64(1)),
		Signature: Signature{Status: "signed", Signer: "ci"},
		SBOM:      SBOM{Present: true, Count: 1, Packages: 120},
		Base:      []BaseLink{{Repository: "docker.io/library/alpine", Tag: "3.20", Digest: hex64(9), Method: "annotation", Confidence: "certain"}},
		Labels:    map[string]string{"team": "payments"},
		Created:   now.Add(-10 * 24 * time.Hour),
	}
}

func mustRef(s string) Reference {
	r, err := ParseReference(s)
	if err != nil {
		panic(err)
	}
	return r
}

func eval(p *Policy, f Facts, d Deployment) Result { return p.Evaluate(f, d, now) }

func TestSignatureRule(t *testing.T) {
	p := one(t, "signature", "{signers: [ci]}")
	for _, c := range []struct {
		name string
		sig  Signature
		deny string // substring of the message; "" means allow
	}{
		{"signed by ci", Signature{Status: "signed", Signer: "ci"}, ""},
		{"unsigned", Signature{Status: "unsigned"}, "is not signed"},
		{"other signer of the trust policy", Signature{Status: "signed", Signer: "repo-x-release"}, "signed by repo-x-release, expected ci"},
		{"invalid (C60: signature for another digest)", Signature{Status: "invalid", Reasons: []string{"signature covers sha256:d1, not sha256:d2"}}, "no valid signature covers"},
		{"untrusted", Signature{Status: "untrusted", Reasons: []string{"issuer https://self-hosted-oidc.example.net is not https://oidc.acme.example"}}, "does not trust"},
		{"notation only", Signature{Status: "notation"}, "notation"},
		{"no trust policy applied", Signature{}, "unknown"},
	} {
		f := clean()
		f.Signature = c.sig
		res := eval(p, f, Deployment{})
		if c.deny == "" {
			if res.Verdict != Allow {
				t.Errorf("%s: %s", c.name, res)
			}
			continue
		}
		if res.Verdict != Deny || len(res.Violations) != 1 || !strings.Contains(res.Violations[0].Message, c.deny) {
			t.Errorf("%s: got %s, want deny mentioning %q", c.name, res, c.deny)
		}
	}
}

func TestSignatureSignerMustExist(t *testing.T) {
	_, err := Parse([]byte("version: 1\nname: t\ntrust_policy: trust.yaml\norg_registries: [registry.acme.corp]\nrules:\n  - type: signature\n    with: {signers: [cii]}\n"), "testdata")
	if err == nil || !strings.Contains(err.Error(), `"cii" is not a signer of the trust policy (it has ci, repo-x-release)`) {
		t.Fatalf("err = %v", err)
	}
}

// C63 and C65 at the policy layer: identities are exact, regexps anchored,
// and the issuer is part of the identity.
func TestSignatureIdentities(t *testing.T) {
	const gh = "https://token.actions.githubusercontent.com"
	exact := one(t, "signature", `{identities: [{issuer: "`+gh+`", subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0"}]}`)
	anch := one(t, "signature", `{identities: [{issuer: "`+gh+`", subject_regexp: 'acme/app/\.github/workflows/release\.yml'}]}`)
	anchFull := one(t, "signature", `{identities: [{issuer: "`+gh+`", subject_regexp: 'https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*'}]}`)
	issuer := one(t, "signature", `{identities: [{issuer: "https://oidc.acme.example", subject: "ci@acme.example"}]}`)
	for _, c := range []struct {
		name            string
		p               *Policy
		issuer, subject string
		want            string
	}{
		{"C63 exact: fork is not the repo", exact, gh, "https://github.com/acme/app-fork/.github/workflows/release.yml@refs/tags/v1.2.0", Deny},
		{"C63 exact: the repo", exact, gh, "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0", Allow},
		{"C63 regexp is anchored: notacme", anch, gh, "https://github.com/notacme/app/.github/workflows/release.yml@refs/heads/main", Deny},
		{"C63 anchored full regexp matches the repo", anchFull, gh, "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.3.0", Allow},
		{"C63 anchored full regexp: notacme", anchFull, gh, "https://github.com/notacme/app/.github/workflows/release.yml@refs/tags/v1.3.0", Deny},
		{"C65 issuer differs", issuer, "https://self-hosted-oidc.example.net", "ci@acme.example", Deny},
		{"C65 issuer matches", issuer, "https://oidc.acme.example", "ci@acme.example", Allow},
	} {
		f := clean()
		f.Signature = Signature{Status: "signed", Signer: "keyless", Issuer: c.issuer, Subject: c.subject}
		res := eval(c.p, f, Deployment{})
		if res.Verdict != c.want {
			t.Errorf("%s: %s", c.name, res)
		}
		if c.want == Deny && !strings.Contains(res.Violations[0].Message, "signed by keyless "+c.subject+" (issuer "+c.issuer+"), expected") {
			t.Errorf("%s: message %q", c.name, res.Violations[0].Message)
		}
	}
}

func TestVulnerabilityRule(t *testing.T) {
	crit := Finding{ID: "GHSA-jfh8-c2jp-5v3q", Aliases: []string{"CVE-2021-44228"}, Package: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Severity: "critical", CVSS: 10, KEV: true, EPSS: 0.97, Fixed: []string{"2.15.0"}, FirstSeen: now.AddDate(0, -2, 0)}
	high := Finding{ID: "CVE-2024-0001", Package: "openssl", Version: "3.0.1", Severity: "high", CVSS: 7.5, EPSS: 0.02, FirstSeen: now.AddDate(0, 0, -3)}
	notAffected := crit
	notAffected.State = "not_affected"
	for _, c := range []struct {
		name     string
		with     string
		findings []Finding
		want     string
	}{
		{"C83 critical KEV through the CVE alias", "{severity: critical, kev: true}", []Finding{crit}, Deny},
		{"critical KEV rule, high non-KEV", "{severity: critical, kev: true}", []Finding{high}, Allow},
		{"severity high catches critical and high", "{severity: high}", []Finding{high}, Deny},
		{"cvss 9 threshold", "{min_cvss: 9}", []Finding{high}, Allow},
		{"cvss 7 threshold", "{min_cvss: 7}", []Finding{high}, Deny},
		{"epss 0.5", "{min_epss: 0.5}", []Finding{high}, Allow},
		{"epss 0.5 with log4j", "{min_epss: 0.5}", []Finding{high, crit}, Deny},
		{"fix available", "{severity: high, fix_available: true}", []Finding{high}, Allow},
		{"fix available, log4j", "{severity: high, fix_available: true}", []Finding{crit}, Deny},
		{"age 30d: 3 days old", "{severity: high, min_age: 30d}", []Finding{high}, Allow},
		{"age 30d: 2 months old", "{severity: high, min_age: 30d}", []Finding{crit}, Deny},
		{"VEX not_affected does not count", "{severity: critical}", []Finding{notAffected}, Allow},
		{"no findings", "{severity: low}", nil, Allow},
	} {
		f := clean()
		f.Findings = c.findings
		res := eval(one(t, "vulnerabilities", c.with), f, Deployment{})
		if res.Verdict != c.want {
			t.Errorf("%s: %s", c.name, res)
		}
	}
	f := clean()
	f.Findings = []Finding{crit}
	res := eval(one(t, "vulnerabilities", "{severity: critical, kev: true}"), f, Deployment{})
	want := "1 open critical, KEV finding: GHSA-jfh8-c2jp-5v3q (CVE-2021-44228) in org.apache.logging.log4j:log4j-core 2.14.1 [critical, known exploited, fixed in 2.15.0]"
	if len(res.Violations) != 1 || res.Violations[0].Message != want {
		t.Errorf("message:\n got %q\nwant %q", res.Violations, want)
	}
}

// C77 and C48: no SBOM, or an SBOM of 0 usable packages, is never clean.
func TestUnscannedFailsClosed(t *testing.T) {
	p := one(t, "vulnerabilities", "{severity: critical}")
	noSBOM := clean()
	noSBOM.SBOM = SBOM{}
	empty := clean()
	empty.SBOM = SBOM{Present: true, Count: 1, Packages: 0}
	for name, c := range map[string]struct {
		f    Facts
		want string
	}{
		"C77 no SBOM":           {noSBOM, "no SBOM: the image was never scanned"},
		"C48 0 usable packages": {empty, "0 packages analysed"},
	} {
		res := eval(p, c.f, Deployment{})
		if res.Verdict != Deny || !strings.Contains(res.Violations[0].Message, c.want) {
			t.Errorf("%s: %s", name, res)
		}
	}
	allow := one(t, "vulnerabilities", "{severity: critical, allow_unscanned: true}")
	if res := eval(allow, noSBOM, Deployment{}); res.Verdict != Allow {
		t.Errorf("allow_unscanned: %s", res)
	}
	sb := one(t, "sbom", "{}")
	for name, f := range map[string]Facts{"no SBOM": noSBOM, "empty": empty} {
		if res := eval(sb, f, Deployment{}); res.Verdict != Deny {
			t.Errorf("sbom rule, %s: %s", name, res)
		}
	}
	if res := eval(sb, clean(), Deployment{}); res.Verdict != Allow {
		t.Errorf("sbom rule, clean: %s", res)
	}
}

// C74: what counts as :latest, and digest pins.
func TestMutableTags(t *testing.T) {
	latest := one(t, "references", "{deny_latest: true}")
	pinned := one(t, "references", "{require_digest: true, deny_latest: true}")
	d := hex64(7)[len("sha256:"):]
	for _, c := range []struct {
		ref                  string
		wantLatest, wantPins string
	}{
		{"alpine", Deny, Deny},
		{"nginx:latest", Deny, Deny},
		{"busybox@sha256:" + d, Allow, Allow},
		{"busybox:latest@sha256:" + d, Allow, Allow},
		{"busybox:1.33.1@sha256:" + d, Allow, Allow},
		{"registry.example.com:5000/app:1.2", Allow, Deny},
	} {
		f := clean()
		f.Reference = mustRef(c.ref)
		if res := eval(latest, f, Deployment{}); res.Verdict != c.wantLatest {
			t.Errorf("deny_latest %s: %s", c.ref, res)
		}
		if res := eval(pinned, f, Deployment{}); res.Verdict != c.wantPins {
			t.Errorf("require_digest %s: %s", c.ref, res)
		}
	}
	f := clean()
	f.Reference = mustRef("registry.example.com:5000/app:1.2")
	if f.Reference.Tag != "1.2" || f.Reference.Registry != "registry.example.com:5000" {
		t.Errorf("port mistaken for a tag: %+v", f.Reference)
	}
}

// C75: look-alike registries, typosquatted names, tags that are no release.
func TestTyposquats(t *testing.T) {
	p := one(t, "references", "{deny_typosquats: true}")
	for _, c := range []struct{ ref, want, mention string }{
		{"ghrc.io/acme/tool:1.0", Deny, "ghcr.io"},
		{"ubunto:20.04", Deny, "ubuntu"},
		{"alpine:3.154", Deny, "3.15"},
		{"ubuntu:20.04", Allow, ""},
		{"ghcr.io/acme/tool:1.0", Allow, ""},
		{"registry.acme.corp/app:1.0", Allow, ""},
		{"registry.acme.crop/app:1.0", Deny, "registry.acme.corp"},
		{"node:-16", Deny, "not a valid image reference"},
	} {
		f := clean()
		f.Reference = Reference{Raw: c.ref}
		res := eval(p, f, Deployment{})
		if res.Verdict != c.want || (c.mention != "" && !strings.Contains(res.Violations[0].Message, c.mention)) {
			t.Errorf("%s: %s", c.ref, res)
		}
	}
	reg := one(t, "references", "{allowed_registries: [registry.acme.corp, '*.gcr.io']}")
	for ref, want := range map[string]string{"registry.acme.corp/app:1": Allow, "eu.gcr.io/x/y:1": Allow, "docker.io/library/nginx:1.27": Deny} {
		f := clean()
		f.Reference = mustRef(ref)
		if res := eval(reg, f, Deployment{}); res.Verdict != want {
			t.Errorf("allowed_registries %s: %s", ref, res)
		}
	}
}

func TestBaseImages(t *testing.T) {
	p := one(t, "base-images", "{approved: ['docker.io/library/alpine:3.*', 'registry.acme.corp/base/**', 'debian@"+hex64(5)+"'], deny_outdated: true}")
	link := func(repo, tag, dig string) []BaseLink {
		return []BaseLink{{Repository: repo, Tag: tag, Digest: dig, Method: "annotation", Confidence: "certain"}}
	}
	outdated := link("docker.io/library/alpine", "3.19", hex64(2))
	outdated[0].Outdated = true
	// An annotation naming an approved base whose layers the image does not
	// share is attributed as a guess: it must not approve the image.
	guessed := link("docker.io/library/alpine", "3.20", hex64(2))
	guessed[0].Confidence = "guess"
	for _, c := range []struct {
		name string
		base []BaseLink
		want string
	}{
		{"approved by tag glob", link("docker.io/library/alpine", "3.20", hex64(2)), Allow},
		{"approved by deep glob", link("registry.acme.corp/base/node/20", "", hex64(3)), Allow},
		{"approved by digest pin", link("docker.io/library/debian", "12", hex64(5)), Allow},
		{"digest pin, other digest", link("docker.io/library/debian", "12", hex64(6)), Deny},
		{"unapproved", link("docker.io/library/ubuntu", "22.04", hex64(4)), Deny},
		{"alpine edge is not 3.*", link("docker.io/library/alpine", "edge", hex64(4)), Deny},
		{"unknown base fails closed", nil, Deny},
		{"scratch", []BaseLink{{Method: "none", Confidence: "certain"}}, Allow},
		{"outdated", outdated, Deny},
		{"a guessed approved base approves nothing", guessed, Deny},
	} {
		f := clean()
		f.Base = c.base
		if res := eval(p, f, Deployment{}); res.Verdict != c.want {
			t.Errorf("%s: %s", c.name, res)
		}
	}
}

func TestProvenanceAndAge(t *testing.T) {
	p := one(t, "provenance", "{builders: ['https://github.com/acme/*/.github/workflows/release.yml@**'], source_repositories: ['https://github.com/acme/*']}")
	good := Provenance{BuilderID: "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1", SourceRepository: "https://github.com/acme/app"}
	fork := Provenance{BuilderID: good.BuilderID, SourceRepository: "https://github.com/mallory/app"}
	for name, c := range map[string]struct {
		prov []Provenance
		want string
	}{"none": {nil, Deny}, "ours": {[]Provenance{good}, Allow}, "other source": {[]Provenance{fork}, Deny}} {
		f := clean()
		f.Provenance = c.prov
		if res := eval(p, f, Deployment{}); res.Verdict != c.want {
			t.Errorf("provenance %s: %s", name, res)
		}
	}
	age := one(t, "age", "{max: 30d}")
	for name, c := range map[string]struct {
		created time.Time
		want    string
	}{"10 days": {now.AddDate(0, 0, -10), Allow}, "40 days": {now.AddDate(0, 0, -40), Deny}, "unknown": {time.Time{}, Deny}} {
		f := clean()
		f.Created = c.created
		if res := eval(age, f, Deployment{}); res.Verdict != c.want {
			t.Errorf("age %s: %s", name, res)
		}
	}
}

func TestCELRules(t *testing.T) {
	p := one(t, "cel", `{expression: 'image.findings.all(f, f.severity != "critical" || f.fix_available == false) && context.environment != "" && image.signature.status == "signed"', message: "fixable criticals"}`)
	f := clean()
	if res := eval(p, f, Deployment{Environment: "production"}); res.Verdict != Allow {
		t.Errorf("clean: %s", res)
	}
	f.Findings = []Finding{{ID: "CVE-1", Package: "x", Severity: "critical", Fixed: []string{"2"}}}
	if res := eval(p, f, Deployment{Environment: "production"}); res.Verdict != Deny || res.Violations[0].Message != "fixable criticals" {
		t.Errorf("critical: %s", res)
	}
	ts := one(t, "cel", `{expression: 'now - image.created < duration("720h") && image.base_known && image.base[0].repository.startsWith("docker.io/")', message: "old"}`)
	if res := eval(ts, clean(), Deployment{}); res.Verdict != Allow {
		t.Errorf("timestamps: %s", res)
	}
	// A key that is not there fails closed rather than passing.
	miss := one(t, "cel", `{expression: 'image.labels["team"] == "x" || image.labels["nope"] == "y"', message: "labels"}`)
	if res := eval(miss, clean(), Deployment{}); res.Verdict != Deny || !strings.Contains(res.Violations[0].Message, "expression error") {
		t.Errorf("missing key: %s", res)
	}
	// An expression that would run for minutes stops at the cost limit and
	// fails closed.
	ten := "[1,2,3,4,5,6,7,8,9,10]"
	loop := "true"
	for _, v := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		loop = ten + ".all(" + v + ", " + loop + ")"
	}
	slow := one(t, "cel", `{expression: '`+loop+`', message: "slow"}`)
	start := time.Now()
	if res := eval(slow, clean(), Deployment{}); res.Verdict != Deny || !strings.Contains(res.Violations[0].Message, "cost limit") {
		t.Errorf("10^8 steps: %s", res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("10^8 steps took %v", d)
	}
}

func TestScopes(t *testing.T) {
	// C59: a policy written for the full name applies to the short name.
	p := parse(t, `version: 1
name: t
trust_policy: trust.yaml
rules:
  - name: liberty-signed
    type: signature
    scope: {images: ["docker.io/library/websphere-liberty:*"]}
  - name: prod-only
    type: sbom
    scope: {environments: [production], namespaces: ["team-*"]}
`)
	f := clean()
	f.Signature = Signature{Status: "unsigned"}
	f.SBOM = SBOM{}
	f.Reference = mustRef("websphere-liberty:22.0")
	res := eval(p, f, Deployment{})
	if got := res.ViolatedRules(); len(got) != 1 || got[0] != "liberty-signed" {
		t.Errorf("C59: %s", res)
	}
	f.Reference = mustRef("ibm/websphere-liberty:22.0")
	if res := eval(p, f, Deployment{}); len(res.Violations) != 0 {
		t.Errorf("other repository: %s", res)
	}
	for _, c := range []struct {
		d    Deployment
		want int
	}{
		{Deployment{Environment: "production", Namespace: "team-a"}, 1},
		{Deployment{Environment: "production", Namespace: "kube-system"}, 0},
		{Deployment{Environment: "staging", Namespace: "team-a"}, 0},
	} {
		if res := eval(p, f, c.d); len(res.Violations) != c.want {
			t.Errorf("%+v: %s", c.d, res)
		}
	}
}

func TestModes(t *testing.T) {
	p := parse(t, `version: 1
name: t
rules:
  - {name: w, type: sbom, mode: warn}
  - {name: a, type: age, mode: audit, with: {max: 1d}}
`)
	f := clean()
	f.SBOM = SBOM{}
	res := eval(p, f, Deployment{})
	if res.Verdict != Allow || len(res.Violations) != 2 || res.Violations[0].Mode != ModeWarn || res.Violations[1].Mode != ModeAudit {
		t.Errorf("%s", res)
	}
}

// C78 and waiver expiry with an injected clock.
func TestWaivers(t *testing.T) {
	p := parse(t, `version: 1
name: t
rules:
  - name: no-critical
    type: vulnerabilities
    with: {severity: critical}
  - name: base
    type: base-images
    with: {approved: [docker.io/library/debian:12]}
waivers:
  - {vulnerability: CVE-2026-0001, owner: sec@acme, reason: not reachable, expires: 2026-06-30}
  - {vulnerability: CVE-2026-0002, package: libfoo, owner: sec@acme, reason: patched in our fork, permanent: true}
  - {vulnerability: CVE-2026-0003, images: ["registry.acme.corp/other/*"], owner: sec@acme, reason: other image only, expires: 2027-01-01}
  - {rule: base, images: ["registry.acme.corp/app"], owner: platform@acme, reason: migrating to debian by Q3, expires: "2026-05-31"}
`)
	f := clean()
	f.Findings = []Finding{
		{ID: "GHSA-aaaa", Aliases: []string{"CVE-2026-0001"}, Package: "libbar", Severity: "critical"},
		{ID: "CVE-2026-0002", Package: "libfoo", Severity: "critical"},
	}
	res := p.Evaluate(f, Deployment{}, now)
	if got := res.ViolatedRules(); len(got) != 1 || got[0] != "base" {
		t.Errorf("C78: two waived criticals must allow the vulnerability rule: %s", res)
	}
	if len(res.Suppressed) != 2 || res.Suppressed[0].Finding != "GHSA-aaaa" || res.Suppressed[1].Finding != "CVE-2026-0002" {
		t.Errorf("C78: suppressed %+v", res.Suppressed)
	}
	// The base waiver expired on 2026-05-31 (end of day): it shows as expired.
	if len(res.ExpiredWaivers) != 1 || !strings.Contains(res.ExpiredWaivers[0], "rule base") {
		t.Errorf("expired waivers %v", res.ExpiredWaivers)
	}
	before := p.Evaluate(f, Deployment{}, time.Date(2026, 5, 31, 23, 0, 0, 0, time.UTC))
	if before.Verdict != Allow || len(before.Suppressed) != 3 {
		t.Errorf("on the last day every waiver applies: %s %+v", before, before.Suppressed)
	}
	after := p.Evaluate(f, Deployment{}, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	if after.Verdict != Deny || len(after.Violations) != 2 || !strings.Contains(after.Violations[0].Message, "GHSA-aaaa") || strings.Contains(after.Violations[0].Message, "CVE-2026-0002 in") {
		t.Errorf("after CVE-2026-0001's waiver expired: %s", after)
	}
	// A waiver for other images, or another package, does not apply.
	g := clean()
	g.Findings = []Finding{{ID: "CVE-2026-0003", Package: "x", Severity: "critical"}, {ID: "CVE-2026-0002", Package: "libother", Severity: "critical"}}
	if res := p.Evaluate(g, Deployment{}, now); !strings.Contains(res.String(), "2 open critical findings") {
		t.Errorf("scoped waivers: %s", res)
	}
}

func TestLoadErrors(t *testing.T) {
	head := "version: 1\nname: t\n"
	for _, c := range []struct{ doc, want string }{
		{"version: 2\nname: t\nrules: [{type: sbom}]\n", "version: 2 is not a supported"},
		{"version: 1\nrules: [{type: sbom}]\n", "name: required"},
		{head + "rules: []\n", "at least one rule"},
		{head + "rules:\n  - type: sbomm\n", `line 4: rules[0] (sbomm): type: "sbomm" is not a rule type`},
		{head + "rules:\n  - type: sbom\n    mode: block\n", `mode: "block" is not enforce, warn or audit`},
		{head + "rules:\n  - type: sbom\n  - type: sbom\n", `name "sbom" is already used by rules[0]`},
		{head + "rules:\n  - type: vulnerabilities\n    with:\n      severity: critcal\n", `with.severity: "critcal" is not critical`},
		{head + "rules:\n  - type: vulnerabilities\n    with:\n      severity: high\n      kev_only: true\n", "line 7: field kev_only not found"},
		{head + "rules:\n  - type: vulnerabilities\n    with: {min_epss: 5}\n", "outside 0–1"},
		{head + "rules:\n  - type: vulnerabilities\n    with: {}\n", "give at least one of"},
		{head + "rules:\n  - type: age\n    with: {max: 3 weeks}\n", `"3 weeks" is not a duration`},
		{head + "rules:\n  - type: cel\n    with: {expression: 'image.digest ==', message: m}\n", "with.expression: ERROR"},
		{head + "rules:\n  - type: cel\n    with: {expression: 'image.digest', message: m}\n", ""}, // dyn: allowed at load, checked at run
		{head + "rules:\n  - type: cel\n    with: {expression: '1 + 2', message: m}\n", "evaluates to int, want bool"},
		{head + "rules:\n  - type: cel\n    with: {expression: 'true'}\n", "with.message: required"},
		{head + "rules:\n  - type: signature\n    with: {signers: [ci]}\n", "no trust_policy"},
		{head + "rules:\n  - type: signature\n    with: {identities: [{subject: x}]}\n", "issuer is required"},
		{head + "rules:\n  - type: signature\n    with: {identities: [{issuer: i, subject_regexp: '('}]}\n", "subject_regexp"},
		{head + "rules: [{type: sbom}]\nwaivers:\n  - {vulnerability: CVE-1, owner: a, reason: b}\n", "line 5: waivers[0]: expires: required"},
		{head + "rules: [{type: sbom}]\nwaivers:\n  - {vulnerability: CVE-1, owner: a, reason: b, expires: tomorrow}\n", `"tomorrow" is not a date`},
		{head + "rules: [{type: sbom}]\nwaivers:\n  - {vulnerability: CVE-1, reason: b, permanent: true}\n", "owner: required"},
		{head + "rules: [{type: sbom}]\nwaivers:\n  - {rule: nope, owner: a, reason: b, permanent: true}\n", `"nope" is not a rule`},
		{head + "rules: [{type: sbom}]\nwaivers:\n  - {vulnerability: CVE-1, owner: a, reason: b, permanent: true, expires: 2026-01-01}\n", "contradict"},
		{head + "rules: [{type: sbom}]\nunknown: 1\n", "field unknown not found"},
		{head + "trust_policy: missing.yaml\nrules: [{type: sbom}]\n", "trust_policy"},
		{head + "rules:\n  - type: base-images\n    with: {}\n", "give approved bases"},
		{head + "rules: [{type: sbom}]\n---\n" + head + "rules: [{type: sbom}]\n", "more than one YAML document"},
		{head + "rules:\n  - {type: sbom, scope: {images: [\"Ubuntu:*\"]}}\n", `"Ubuntu" has capital letters`},
		{head + "rules:\n  - {type: sbom, scope: {images: [\"GHCR.IO/acme/**\"]}}\n", "would match no reference"},
		{head + "rules:\n  - {type: base-images, with: {approved: [\"Registry.acme.corp/base/*\"]}}\n", "capital letters"},
		{head + "rules:\n  - {type: sbom, scope: {images: [\"ubuntu:Jammy-*\"]}}\n", ""}, // tags may have capitals
		{head + "rules:\n  - {type: sbom, scope: {environments: [\"prod*\"]}}\n", `"prod*": environments are exact names`},
		{head + "rules:\n  - type: cel\n    with: {expression: '!has(image.lables.team)', message: m}\n", `image has no field "lables"`},
		{head + "rules:\n  - type: cel\n    with: {expression: '!has(image.lables)', message: m}\n", `image has no field "lables"`},
		{head + "rules:\n  - type: cel\n    with: {expression: 'image[\"sigature\"].status == \"signed\"', message: m}\n", `image has no field "sigature"`},
		{head + "rules:\n  - type: cel\n    with: {expression: 'context.env == \"production\"', message: m}\n", `context has no field "env"`},
		{head + "rules:\n  - type: cel\n    with: {expression: 'image.signature.statsu == \"signed\"', message: m}\n", `image.signature has no field "statsu"`},
		{head + "rules:\n  - type: cel\n    with: {expression: '!has(image.reference.pined)', message: m}\n", `image.reference has no field "pined"`},
		{head + "rules:\n  - type: cel\n    with: {expression: 'has(image.labels.team) && image.findings.all(f, has(f.nosuch_is_dyn))', message: m}\n", ""},
		{head + "rules:\n  - {type: sbom, scope: {environments: [\"\"]}}\n", "environments are exact names"},
	} {
		_, err := Parse([]byte(c.doc), "testdata")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", c.doc, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q:\n got %v\nwant …%s…", c.doc, err, c.want)
		}
	}
}

// The trust policy embedded in the policy (trust: {signers: …}), the form
// POLICY.md documents beside trust_policy, loads and defines its signers.
func TestEmbeddedTrust(t *testing.T) {
	doc := "version: 1\nname: t\ntrust:\n  signers:\n    - name: ci\n      key: ci.pub\nrules:\n  - type: signature\n    with: {signers: [ci]}\n"
	p, err := Parse([]byte(doc), "testdata")
	if err != nil {
		t.Fatal(err)
	}
	if p.Trust == nil {
		t.Fatal("embedded trust policy not loaded")
	}
	if _, err := Parse([]byte(strings.Replace(doc, "[ci]", "[cii]", 1)), "testdata"); err == nil {
		t.Error("a signer the embedded trust policy does not define was accepted")
	}
}

// The field list the load-time check uses is the activation's.
func TestCELFieldsMatchTheActivation(t *testing.T) {
	vars := celVars(&Facts{}, Deployment{}, time.Now(), celNeeds{true, true, true, true})
	for name, keys := range celFields {
		m, _ := vars[name].(map[string]any)
		if parent, child, ok := strings.Cut(name, "."); ok {
			m = vars[parent].(map[string]any)[child].(map[string]any)
		}
		if len(m) != len(keys) {
			t.Errorf("%s: activation has %d keys, celFields %d", name, len(m), len(keys))
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s.%s: not in the activation", name, k)
			}
		}
	}
}

func TestHash(t *testing.T) {
	a := one(t, "sbom", "{}")
	b := one(t, "sbom", "{}")
	c := one(t, "sbom", "{min_packages: 2}")
	if a.Hash() != b.Hash() || a.Hash() == c.Hash() || !strings.HasPrefix(a.Hash(), "sha256:") {
		t.Errorf("hashes %s %s %s", a.Hash(), b.Hash(), c.Hash())
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"docker.io/library/*", "docker.io/library/alpine", true},
		{"docker.io/library/*", "docker.io/library/a/b", false},
		{"docker.io/**", "docker.io/library/a/b", true},
		{"a*c", "abbbc", true},
		{"a*c", "ab/c", false},
		{"", "", true},
		{"x", "", false},
	} {
		if got := glob(c.pat, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.pat, c.s, got)
		}
	}
}
