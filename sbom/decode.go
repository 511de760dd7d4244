package sbom

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// DefaultMaxBytes is the size limit callers should pass to DecodeFile unless
// they have a reason not to: the largest real image SBOMs are a few tens of
// megabytes, and a limit keeps a hostile file from exhausting memory.
const DefaultMaxBytes = 100 << 20

// Sentinel errors. Decode and DecodeFile wrap them with context; test with
// errors.Is.
var (
	// ErrUnknownFormat: the content is not an SBOM format this package reads.
	ErrUnknownFormat = errors.New("unknown SBOM format")
	// ErrTooLarge: the file is larger than the limit given to DecodeFile.
	ErrTooLarge = errors.New("SBOM file too large")
	// ErrNoPackages is never returned by Decode: a document with zero usable
	// packages is still returned so that callers can report what was not
	// understood. Callers that must not treat "nothing analysed" as "nothing
	// vulnerable" (a CI gate) return it themselves.
	ErrNoPackages = errors.New("SBOM has no usable packages")
)

// maxUnwrap bounds how deeply envelopes (DSSE, in-toto, {"sbom": …}) are
// unwrapped, so a crafted document cannot recurse without end.
const maxUnwrap = 4

// Decode detects the format from the content (never from a file name) and
// decodes it.
//
// The returned Document may have zero Packages: packages that cannot be given
// a matchable identity are listed in Unidentified with a reason, and a bad
// package never aborts decoding. Callers decide whether an empty result is an
// error (see ErrNoPackages). An error is returned only when the content is
// not a readable SBOM at all; its message names the format and the problem.
func Decode(data []byte) (*Document, error) {
	return decode(data, 0)
}

// DecodeFile reads and decodes the file at path. Files larger than maxBytes
// are refused before reading (ErrTooLarge); maxBytes <= 0 means
// DefaultMaxBytes.
func DecodeFile(path string, maxBytes int64) (*Document, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit is %d bytes", ErrTooLarge, path, st.Size(), maxBytes)
	}
	// The size can change between stat and read (a pipe, a growing file):
	// read at most one byte more than the limit to notice.
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: %s exceeds the limit of %d bytes", ErrTooLarge, path, maxBytes)
	}
	doc, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

func decode(data []byte, depth int) (*Document, error) {
	if depth > maxUnwrap {
		return nil, fmt.Errorf("%w: envelopes nested more than %d deep", ErrUnknownFormat, maxUnwrap)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrUnknownFormat)
	}
	switch trimmed[0] {
	case '{':
		return decodeJSON(trimmed, depth)
	case '[':
		if !json.Valid(trimmed) {
			return nil, jsonError("json", trimmed, nil)
		}
		return nil, fmt.Errorf("%w: a JSON array (a bare package list?) is not an SBOM document", ErrUnknownFormat)
	case '<':
		return decodeXML(trimmed)
	}
	if isTagValue(trimmed) {
		return decodeSPDXTagValue(trimmed)
	}
	if !utf8.Valid(head(trimmed, 512)) {
		return nil, fmt.Errorf("%w: binary data (starts with % x)", ErrUnknownFormat, head(trimmed, 8))
	}
	return nil, fmt.Errorf("%w: content is not JSON, XML or SPDX tag-value (starts with %q)", ErrUnknownFormat, head(trimmed, 32))
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// isTagValue reports whether the text looks like SPDX tag-value: the
// SPDXVersion tag among its first lines.
func isTagValue(b []byte) bool {
	for i, line := range strings.SplitN(string(head(b, 8192)), "\n", 64) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "SPDXVersion:") {
			return true
		}
		if i > 40 {
			break
		}
	}
	return false
}

func decodeXML(b []byte) (*Document, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, xmlError("xml", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "bom" && (se.Name.Space == "" || strings.Contains(se.Name.Space, "cyclonedx.org")) {
				return decodeCycloneDXXML(b)
			}
			if se.Name.Local == "RDF" {
				return nil, fmt.Errorf("%w: SPDX RDF/XML is not supported; use SPDX JSON or tag-value", ErrUnknownFormat)
			}
			return nil, fmt.Errorf("%w: XML root element <%s> is not a CycloneDX <bom>", ErrUnknownFormat, se.Name.Local)
		}
	}
}

// decodeJSON detects the JSON format from the top-level keys.
func decodeJSON(b []byte, depth int) (*Document, error) {
	fields, scanErr := scanObject(b)
	if scanErr != nil {
		if lines := jsonLines(b); len(lines) > 1 {
			return decodeJSONLines(lines, depth)
		}
	}
	has := func(k string) bool { _, ok := fields[k]; return ok }
	format := ""
	switch {
	case has("bomFormat") || (has("specVersion") && bytes.Contains(fields["$schema"], []byte("cyclonedx"))):
		format = FormatCycloneDXJSON
	case has("spdxVersion"):
		format = FormatSPDXJSON
	case has("artifacts") && (has("schema") || has("descriptor") || has("source") || has("distro")):
		format = FormatSyftJSON
	case has("SchemaVersion") && (has("Results") || has("ArtifactName") || has("Metadata")):
		format = FormatTrivyJSON
	}
	if scanErr != nil {
		name := format
		if name == "" {
			name = "json"
		}
		return nil, jsonError(name, b, scanErr)
	}
	switch format {
	case FormatCycloneDXJSON:
		return decodeCycloneDXJSON(b, fields)
	case FormatSPDXJSON:
		return decodeSPDXJSON(b, fields)
	case FormatSyftJSON:
		return decodeSyft(fields)
	case FormatTrivyJSON:
		return decodeTrivy(fields)
	}
	// Envelopes and wrappers around an SBOM.
	switch {
	case has("payloadType") && has("payload"):
		var payload string
		if err := json.Unmarshal(fields["payload"], &payload); err != nil {
			return nil, fmt.Errorf("dsse envelope: payload is not a string: %v", err)
		}
		inner, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			if inner, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "=")); err != nil {
				return nil, fmt.Errorf("dsse envelope: payload is not base64: %v", err)
			}
		}
		doc, err := decode(inner, depth+1)
		if err != nil {
			return nil, fmt.Errorf("dsse envelope: %w", err)
		}
		return doc, nil
	case has("predicate") && (has("predicateType") || has("_type")):
		pred := bytes.TrimSpace(fields["predicate"])
		if len(pred) > 0 && pred[0] == '"' {
			// Some producers embed the SBOM as a JSON string.
			var s string
			if err := json.Unmarshal(pred, &s); err == nil {
				pred = []byte(s)
			}
		}
		doc, err := decode(pred, depth+1)
		if err != nil {
			var pt string
			_ = json.Unmarshal(fields["predicateType"], &pt)
			return nil, fmt.Errorf("in-toto statement (predicateType %q): %w", pt, err)
		}
		return doc, nil
	case has("sbom") && len(fields) <= 3:
		doc, err := decode(fields["sbom"], depth+1)
		if err != nil {
			return nil, fmt.Errorf("wrapper object {\"sbom\": …}: %w", err)
		}
		return doc, nil
	}
	return nil, fmt.Errorf("%w: JSON object has none of bomFormat/spdxVersion/artifacts+schema/SchemaVersion+Results (keys: %s)", ErrUnknownFormat, keyList(fields))
}

func keyList(fields map[string][]byte) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "…")
	}
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

// jsonLines splits newline-delimited JSON (in-toto .jsonl bundles) when
// every non-empty line is a JSON value on its own.
func jsonLines(b []byte) [][]byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil
		}
		out = append(out, line)
	}
	return out
}

func decodeJSONLines(lines [][]byte, depth int) (*Document, error) {
	var first error
	for i, line := range lines {
		doc, err := decode(line, depth+1)
		if err == nil {
			return doc, nil
		}
		if first == nil {
			first = fmt.Errorf("json lines: line %d: %w", i+1, err)
		}
	}
	return nil, first
}

// jsonError turns a decoding error into a message that names the format, the
// offset and the problem.
func jsonError(format string, data []byte, err error) error {
	var se *json.SyntaxError
	if err == nil || !errors.As(err, &se) {
		// The fast scanner found a problem (or the caller has none);
		// encoding/json gives the precise offset and wording.
		var v any
		if jerr := json.Unmarshal(data, &v); jerr != nil {
			err = jerr
		}
	}
	if errors.As(err, &se) {
		msg := se.Error()
		if se.Offset >= int64(len(data)) {
			// encoding/json feeds a space at EOF, which yields messages
			// like "invalid character ' ' in string escape code" for a
			// file cut inside a string.
			msg = "unexpected end of input"
		}
		return fmt.Errorf("%s: invalid JSON at offset %d: %s", format, se.Offset, msg)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("%s: a JSON %s where %s is expected", format, te.Value, goTypeName(te.Type.String()))
		}
		return fmt.Errorf("%s: field %s holds a JSON %s where %s is expected (offset %d)", format, te.Field, te.Value, goTypeName(te.Type.String()), te.Offset)
	}
	if err == nil {
		return fmt.Errorf("%s: invalid JSON", format)
	}
	return fmt.Errorf("%s: %w", format, err)
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map[") || strings.Contains(t, "."):
		return "an object"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	}
	return t
}

func xmlError(format string, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: invalid XML at line %d: %s", format, se.Line, se.Msg)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: invalid XML: no root element", format)
	}
	return fmt.Errorf("%s: invalid XML: %v", format, err)
}
