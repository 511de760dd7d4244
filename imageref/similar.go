package imageref

import "strings"

// lookalike says how a name resembles a known one, or "" when it does not
// resemble it closely enough to be worth a finding.
//
// Thresholds (distance is optimal-string-alignment Damerau-Levenshtein):
//   - same skeleton after homoglyph folding (1/l/i, 0/o, rn/m, vv/w, 5/s,
//     '_'/'.'/'-'): always a look-alike, at any length;
//   - known name of 3 characters or fewer: only homoglyphs;
//   - 4 characters: one edit that is a transposition, a neighbouring-key
//     substitution, a doubled letter or a dropped letter (node → nodr, not
//     node → nodx);
//   - 5 to 8 characters: any single edit;
//   - 9 characters or more: up to two edits.
func lookalike(cand, known string) string {
	return lookalikeSkel(cand, skeleton(cand), known, skeleton(known))
}

// lookalikeSkel is lookalike with both skeletons computed by the caller, who
// compares one candidate with a whole catalogue.
func lookalikeSkel(cand, candSkel, known, knownSkel string) string {
	if cand == known || cand == "" || known == "" {
		return ""
	}
	if candSkel == knownSkel {
		return "homoglyph look-alike of " + quote(known)
	}
	n := len(known)
	if n <= 3 || abs(len(cand)-n) > 2 {
		return ""
	}
	d := distance(cand, known, 3)
	switch {
	case d == 1:
		kind := editKind(cand, known)
		if n == 4 && kind != "transposed letters" && kind != "neighbouring key" && kind != "doubled letter" && kind != "missing letter" {
			return ""
		}
		return kind + ", one edit from " + quote(known)
	case d == 2 && n >= 9:
		return "two edits from " + quote(known)
	}
	return ""
}

// lookalikeNamespace is lookalike for Docker Hub namespaces. Millions of
// accounts exist and many honest ones are one letter from a publisher
// (dockur beside docker), so for names under 9 characters a single edit
// counts only when it is one a finger or an eye makes: a transposition, a
// neighbouring key, a doubled or a dropped letter, or a homoglyph.
func lookalikeNamespace(cand, candSkel, known, knownSkel string) string {
	why := lookalikeSkel(cand, candSkel, known, knownSkel)
	if why == "" || len(known) >= 9 || strings.HasPrefix(why, "homoglyph") {
		return why
	}
	for _, k := range []string{"transposed letters", "neighbouring key", "doubled letter", "missing letter"} {
		if strings.HasPrefix(why, k+",") {
			return why
		}
	}
	return ""
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

var homoglyphs = strings.NewReplacer("rn", "m", "vv", "w", "cl", "d", "1", "l", "i", "l", "|", "l", "0", "o", "5", "s", "_", "-", ".", "-")

// skeleton folds characters that look alike into one representative.
func skeleton(s string) string { return homoglyphs.Replace(strings.ToLower(s)) }

// distance is the optimal string alignment distance, capped at max.
func distance(a, b string, max int) int {
	if abs(len(a)-len(b)) >= max {
		return max
	}
	var rows [3][64]int
	if len(b) >= 63 {
		if a == b {
			return 0
		}
		return max
	}
	prev2, prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			best = min(best, v)
		}
		if best >= max {
			return max
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], max)
}

// editKind names the single edit that turns known into cand.
func editKind(cand, known string) string {
	i := 0
	for i < len(cand) && i < len(known) && cand[i] == known[i] {
		i++
	}
	switch {
	case len(cand) == len(known):
		if i+1 < len(cand) && cand[i] == known[i+1] && cand[i+1] == known[i] && cand[i+2:] == known[i+2:] {
			return "transposed letters"
		}
		if adjacentKeys(cand[i], known[i]) {
			return "neighbouring key"
		}
		return "substituted letter"
	case len(cand) == len(known)+1:
		if i > 0 && cand[i] == cand[i-1] || i+1 < len(cand) && cand[i] == cand[i+1] {
			return "doubled letter"
		}
		return "extra letter"
	default:
		return "missing letter"
	}
}

var keyboardRows = []string{"1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm"}

// adjacentKeys reports whether a and b are neighbours on a QWERTY keyboard
// (same row, or the row above or below at the same or next position).
func adjacentKeys(a, b byte) bool {
	ra, ca := keyPos(a)
	rb, cb := keyPos(b)
	if ra < 0 || rb < 0 {
		return false
	}
	switch ra - rb {
	case 0:
		return abs(ca-cb) == 1
	case 1: // a is on the row below b; rows are offset half a key right
		return ca == cb || ca+1 == cb
	case -1:
		return cb == ca || cb+1 == ca
	}
	return false
}

func keyPos(c byte) (int, int) {
	for r, row := range keyboardRows {
		if i := strings.IndexByte(row, c); i >= 0 {
			return r, i
		}
	}
	return -1, -1
}
