package sbom

import (
	"encoding/json"
	"errors"
)

// errScan reports malformed or truncated JSON found by scanObject; the
// caller asks encoding/json for the precise offset and wording.
var errScan = errors.New("malformed JSON")

// scanObject splits a JSON object into its top-level keys and raw values
// without decoding the values. Format detection needs only the keys, and a
// full decode of a multi-megabyte SBOM just to look at them would double the
// decoding time. On malformed input it returns the fields seen so far (to
// name the format in the error) and errScan. Values are not validated here;
// the format decoders do that.
func scanObject(b []byte) (map[string][]byte, error) {
	fields := make(map[string][]byte, 16)
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return fields, errScan
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipWS(b, i+1) != len(b) {
			return fields, errScan
		}
		return fields, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return fields, errScan
		}
		end, ok := skipString(b, i)
		if !ok {
			return fields, errScan
		}
		var key string
		if err := json.Unmarshal(b[i:end], &key); err != nil {
			return fields, errScan
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return fields, errScan
		}
		i = skipWS(b, i+1)
		vend, ok := skipValue(b, i)
		if !ok {
			fields[key] = nil
			return fields, errScan
		}
		fields[key] = b[i:vend]
		i = skipWS(b, vend)
		if i >= len(b) {
			return fields, errScan
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			if skipWS(b, i+1) != len(b) {
				return fields, errScan
			}
			return fields, nil
		default:
			return fields, errScan
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(b), false
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipString(b, j)
				if !ok {
					return len(b), false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(b), false
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j, j > i
		}
		j++
	}
	return j, false
}
