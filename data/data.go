// Package data embeds the real feeds and SBOMs bundled with Safeguard (see
// feeds/SOURCES.md and sboms/SOURCES.md for origin and licence), so that
// `safeguard demo` runs from the binary alone.
package data

import "embed"

// FS holds feeds/ and sboms/.
//
//go:embed feeds sboms
var FS embed.FS
