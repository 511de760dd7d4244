package imageref

import (
	"strings"

	"golang.org/x/net/idna"
)

// An internationalised host name travels as punycode: "xn--gcr-2sd.io" is
// "gһcr.io" with a Cyrillic һ, which a browser bar, a diff or a terminal may
// show as "ghcr.io". Such a host is decoded and its letters folded to the
// Latin ones they look like before it is compared with the well-known
// registries.

// confusables maps letters of other scripts to the Latin letter they are
// drawn like (the common cases of Unicode's confusables list).
var confusables = strings.NewReplacer(
	// Cyrillic
	"а", "a", "в", "b", "с", "c", "ԁ", "d", "е", "e", "һ", "h", "і", "i", "ј", "j", "к", "k",
	"ӏ", "l", "м", "m", "о", "o", "р", "p", "ԛ", "q", "г", "r", "ѕ", "s", "т", "t", "у", "y",
	"ԝ", "w", "х", "x", "ү", "y", "ь", "b", "п", "n",
	// Greek
	"α", "a", "β", "b", "ε", "e", "η", "n", "ι", "i", "κ", "k", "ν", "v", "ο", "o", "ρ", "p",
	"τ", "t", "υ", "u", "χ", "x", "γ", "y", "ω", "w",
	// Latin look-alikes
	"ı", "i", "ɑ", "a", "ɡ", "g", "ℓ", "l", "ɩ", "i", "ɴ", "n", "ʀ", "r", "ѵ", "v",
)

// unicodeHost decodes a host with punycode labels and folds it to Latin
// look-alikes; ok is false when no label is punycode.
func unicodeHost(host string) (decoded, folded string, ok bool) {
	if !strings.Contains(host, "xn--") {
		return "", "", false
	}
	u, err := idna.ToUnicode(host)
	if err != nil || u == host {
		return "", "", false
	}
	f := strings.Map(func(r rune) rune {
		if r >= 'ａ' && r <= 'ｚ' { // fullwidth
			return r - 'ａ' + 'a'
		}
		return r
	}, confusables.Replace(strings.ToLower(u)))
	return u, f, true
}
