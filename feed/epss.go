package feed

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/safeguard-dev/safeguard/advisory"
)

// looksLikeEPSS recognises the FIRST EPSS CSV: an optional
// "#model_version:…" comment line, then the "cve,epss,percentile" header.
// A "#" line alone is enough to claim the file, so that a damaged header is
// reported as such rather than as an unknown format.
func looksLikeEPSS(t []byte) bool {
	if len(t) > 0 && t[0] == '#' {
		return true
	}
	return len(t) >= 4 && strings.EqualFold(string(t[:4]), "cve,")
}

// parseEPSS reads an EPSS CSV. Every row must be a CVE id with two numbers
// in [0,1]; any other line fails the load with its line number, because a
// partly-read score file would silently lose scores.
func (l *loader) parseEPSS(data []byte) error {
	var (
		model, date string
		header      bool
		rows        []advisory.EPSS
		seen        = map[string]int{}
	)
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNo++
		s := strings.TrimSpace(string(line))
		if s == "" {
			continue
		}
		lineErr := func(format string, args ...any) error {
			return at(fmt.Sprintf("line %d", lineNo), errorf(ErrInvalidRecord, format, args...))
		}
		if strings.HasPrefix(s, "#") {
			if header || len(rows) > 0 || model != "" || date != "" {
				return lineErr("unexpected comment line %q", preview([]byte(s)))
			}
			var err error
			if model, date, err = parseEPSSComment(s); err != nil {
				return lineErr("%v", err)
			}
			continue
		}
		if !header {
			if !strings.EqualFold(strings.ReplaceAll(s, " ", ""), "cve,epss,percentile") {
				return lineErr("bad header %q, want \"cve,epss,percentile\"", preview([]byte(s)))
			}
			header = true
			continue
		}
		f := strings.Split(s, ",")
		if len(f) != 3 {
			return lineErr("want 3 fields (cve,epss,percentile), got %d", len(f))
		}
		cve := strings.TrimSpace(f[0])
		if !cvePattern.MatchString(cve) {
			return lineErr("%q is not a CVE id", preview([]byte(cve)))
		}
		score, err := parseProbability(f[1])
		if err != nil {
			return lineErr("epss %q: %v", preview([]byte(f[1])), err)
		}
		pct, err := parseProbability(f[2])
		if err != nil {
			return lineErr("percentile %q: %v", preview([]byte(f[2])), err)
		}
		if prev, dup := seen[cve]; dup {
			return lineErr("%s already scored on line %d", cve, prev)
		}
		seen[cve] = lineNo
		rows = append(rows, advisory.EPSS{CVE: cve, Score: score, Percentile: pct, ModelVersion: model, ScoreDate: date})
	}
	if !header {
		return errorf(ErrInvalidRecord, "EPSS CSV without the cve,epss,percentile header")
	}
	if len(rows) == 0 {
		return errorf(ErrInvalidRecord, "EPSS CSV holds no score rows")
	}
	l.b.EPSS = rows
	l.b.EPSSModelVersion, l.b.EPSSScoreDate = model, date
	return nil
}

// parseEPSSComment reads "#model_version:v2023.03.01,score_date:2024-10-25T00:00:00+0000".
func parseEPSSComment(s string) (model, date string, err error) {
	for _, part := range strings.Split(strings.TrimPrefix(s, "#"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return "", "", fmt.Errorf("bad comment line %q, want #model_version:…,score_date:…", preview([]byte(s)))
		}
		switch strings.TrimSpace(k) {
		case "model_version":
			model = strings.TrimSpace(v)
		case "score_date":
			date = strings.TrimSpace(v)
		}
	}
	return model, date, nil
}

func parseProbability(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("not a number")
	case math.IsNaN(v) || v < 0 || v > 1:
		return 0, fmt.Errorf("outside [0,1]")
	}
	return v, nil
}
