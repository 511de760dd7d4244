package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/safeguard-dev/safeguard/advisory"
)

// osvKeys are fields of which an OSV record has at least one besides "id";
// they tell a record from other JSON that merely has an "id".
var osvKeys = []string{"modified", "affected", "schema_version", "aliases", "summary", "details", "published", "withdrawn", "severity", "references", "upstream", "related"}

// parseJSON reads one JSON document. entry is the archive member it came
// from ("" for a plain file or download, named by l.src). top is false
// inside directories and archives, where only OSV records are allowed.
func (l *loader) parseJSON(entry string, data []byte, top bool) error {
	file := l.src
	if entry != "" {
		file += ": " + entry
	}
	t := trimBOM(data)
	if len(t) == 0 {
		return errorf(ErrInvalidRecord, "empty file")
	}
	switch t[0] {
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(t, &arr); err != nil {
			return jsonError(err)
		}
		return l.parseArray(file, arr, top)
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(t, &obj); err != nil {
			return jsonError(err)
		}
		return l.parseObject(file, t, obj, top)
	}
	return errorf(ErrUnknownFormat, "not a JSON object or array (starts with %q)", preview(t))
}

func (l *loader) parseObject(file string, raw []byte, obj map[string]json.RawMessage, top bool) error {
	switch {
	case has(obj, "vulns"):
		v := bytes.TrimSpace(obj["vulns"])
		if len(v) == 0 || v[0] != '[' {
			return errorf(ErrInvalidRecord, `"vulns" is not an array`)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(v, &arr); err != nil {
			return jsonError(err)
		}
		return l.parseRecords(file, arr, "vulns")
	case has(obj, "catalogVersion") || has(obj, "vulnerabilities"):
		if !top {
			return errorf(ErrUnknownFormat, "a KEV catalog inside a directory or archive; load it on its own")
		}
		if err := l.want(expectKEV, "a KEV catalog"); err != nil {
			return err
		}
		return l.parseKEVCatalog(obj)
	case isOSVObject(obj):
		if err := l.want(expectOSV, "an OSV record"); err != nil {
			return err
		}
		return l.parseRecord(file, raw, "")
	}
	return errorf(ErrUnknownFormat, "%s", describeObject(obj))
}

func (l *loader) parseArray(file string, arr []json.RawMessage, top bool) error {
	if len(arr) == 0 {
		return errorf(ErrUnknownFormat, "empty JSON array: no OSV records or KEV entries")
	}
	var first map[string]json.RawMessage
	if err := json.Unmarshal(arr[0], &first); err != nil {
		return errorf(ErrUnknownFormat, "a JSON array whose first element is not an object")
	}
	if has(first, "cveID") && !has(first, "id") {
		if !top {
			return errorf(ErrUnknownFormat, "KEV entries inside a directory or archive; load them on their own")
		}
		if err := l.want(expectKEV, "KEV entries"); err != nil {
			return err
		}
		return l.parseKEVEntries(arr, false)
	}
	return l.parseRecords(file, arr, "")
}

// parseRecords reads an array that must hold only OSV records.
func (l *loader) parseRecords(file string, arr []json.RawMessage, field string) error {
	if err := l.want(expectOSV, "OSV records"); err != nil {
		return err
	}
	for i, raw := range arr {
		loc := fmt.Sprintf("%s[%d]", field, i)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return at(loc, errorf(ErrUnknownFormat, "array element is not a JSON object"))
		}
		if !isOSVObject(obj) {
			return at(loc, errorf(ErrUnknownFormat, "%s", describeObject(obj)))
		}
		if err := l.parseRecord(file, raw, loc); err != nil {
			return err
		}
	}
	return nil
}

// parseRecord decodes, validates and adds one OSV record.
func (l *loader) parseRecord(file string, raw []byte, loc string) error {
	var a advisory.Advisory
	if err := json.Unmarshal(raw, &a); err != nil {
		id := recordID(raw)
		return at(joinLoc(loc, "record "+id), jsonError(err))
	}
	if err := Validate(a); err != nil {
		if loc != "" && a.ID == "" {
			return at(loc, err)
		}
		return err
	}
	return l.addAdvisory(file, a)
}

func joinLoc(a, b string) string {
	if a == "" {
		return b
	}
	return a + ": " + b
}

// want checks a detected kind against what the caller expects.
func (l *loader) want(e expect, what string) error {
	if l.expect != expectAny && l.expect != e {
		return errorf(ErrUnknownFormat, "got %s, expected %s", what, l.expect)
	}
	return nil
}

func has(obj map[string]json.RawMessage, k string) bool {
	_, ok := obj[k]
	return ok
}

func isOSVObject(obj map[string]json.RawMessage) bool {
	id, ok := obj["id"]
	if !ok {
		return false
	}
	if id = bytes.TrimSpace(id); len(id) == 0 || id[0] != '"' {
		return false
	}
	for _, k := range osvKeys {
		if has(obj, k) {
			return true
		}
	}
	return false
}

func recordID(raw []byte) string {
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	var id string
	if json.Unmarshal(raw, &probe) == nil && json.Unmarshal(probe.ID, &id) == nil && id != "" {
		return id
	}
	return "(no id)"
}

var (
	cveKey = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]+$`)
)

// describeObject says what a JSON object that is not a feed looks like, so
// a user who pointed Load at the wrong file learns what it is.
func describeObject(obj map[string]json.RawMessage) string {
	switch {
	case has(obj, "pkg_name") && has(obj, "fixed_version"):
		return "looks like an osv.dev converter intermediate (a per-release package part with pkg_name and fixed_version), not an OSV record"
	case has(obj, "cve") && has(obj, "epss"):
		return "looks like EPSS scores as JSON; EPSS is read from the FIRST CSV feed (cve,epss,percentile)"
	case has(obj, "bomFormat") || has(obj, "spdxVersion") || has(obj, "artifacts"):
		return "looks like an SBOM, not a vulnerability feed"
	case has(obj, "$schema"):
		return "looks like a JSON Schema document, not feed data"
	case has(obj, "packages") && (has(obj, "reponame") || has(obj, "urlprefix")):
		return "looks like an Alpine-style secdb (packages with secfixes), not OSV records"
	case has(obj, "results"):
		return `looks like an OSV query-batch response ("results"); load the records themselves`
	case has(obj, "id"):
		return "a JSON object with an id but none of the OSV record fields (modified, affected, …)"
	case looksLikeDebianTracker(obj):
		return "looks like a Debian security tracker export (package → CVE → releases), not OSV records"
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 6 {
		keys = append(keys[:6], "…")
	}
	return fmt.Sprintf("a JSON object with keys [%s]: not an OSV record, OSV {\"vulns\":[…]} list or KEV catalog", strings.Join(keys, " "))
}

// looksLikeDebianTracker recognises the tracker's package → CVE map: every
// value an object keyed by CVE ids.
func looksLikeDebianTracker(obj map[string]json.RawMessage) bool {
	if len(obj) == 0 {
		return false
	}
	for _, v := range obj {
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) != nil || len(inner) == 0 {
			return false
		}
		for k := range inner {
			if !cveKey.MatchString(k) && !strings.HasPrefix(k, "TEMP-") {
				return false
			}
		}
	}
	return true
}

// jsonError turns a decoder error into ErrInvalidRecord with the byte
// offset, which is what locates a truncation or a stray character.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end"):
		return errorf(ErrInvalidRecord, "truncated JSON: input ends at byte %d", se.Offset)
	case errors.As(err, &se):
		return errorf(ErrInvalidRecord, "invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return errorf(ErrInvalidRecord, "field %s: JSON %s where %s expected (byte %d)", field, te.Value, te.Type, te.Offset)
	case err.Error() == "unexpected end of JSON input":
		return errorf(ErrInvalidRecord, "truncated JSON: unexpected end of input")
	}
	return errorf(ErrInvalidRecord, "invalid JSON: %v", err)
}
