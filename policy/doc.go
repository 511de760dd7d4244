// Package policy is Safeguard's policy model: one declarative YAML file
// (versioned schema, validated on load with the line of every mistake)
// that says which images may run where. A policy is a list of rules —
// built-in ones with parameters (signature, vulnerabilities, base-images,
// references, sbom, provenance, age) and CEL expressions over the fact model
// — each scoped by environment, namespace and image pattern and each in a
// mode: enforce violations deny, warn violations are shown, audit
// violations are only logged. Waivers accept a known risk — one finding, or
// a whole rule, for some images — with an owner, a reason and an expiry;
// an expired waiver stops applying by itself and is reported as expired.
//
// Evaluation is pure: Evaluate(facts, deployment, now) reads no store and
// no network, so the same facts give the same verdict in CI, at admission
// and through the API. The facts (Facts) are what Safeguard knows about one
// image digest: the reference as asked (parsed: registry, repository, tag,
// digest, pinned), its tags, signature status under the trust policy, open
// vulnerability findings (with KEV, EPSS, CVSS, fixed versions), SBOM
// presence and usable package count, base-image chain, verified SLSA
// provenance, labels and creation time. An image without a usable SBOM is
// never "clean": rules about findings fail closed on it.
//
// The policy hash covers the file and its trust policy, so every decision
// says exactly which rules made it. Policy tests (RunTests) let a team
// change its policy with fixtures of facts and expected verdicts.
package policy
