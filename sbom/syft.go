package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// Syft JSON is decoded with local types rather than Syft's own module: the
// syft module pulls in image, filesystem and cataloguing dependencies by the
// hundred, and only a handful of fields are needed. The types below accept
// every schema from 1.0 to 16.x: old schemas write distro as {name, version},
// newer ones as os-release fields {id, versionID}; metadata may be absent
// (C50) and its shape depends on metadataType.

type syftSchema struct {
	Version string `json:"version"`
}

type syftDistro struct {
	// schema ≥ 2
	ID         string `json:"id"`
	VersionID  string `json:"versionID"`
	PrettyName string `json:"prettyName"`
	HomeURL    string `json:"homeURL"`
	// schema 1.x
	Name    string `json:"name"`
	Version string `json:"version"`
}

type syftSource struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Target   json.RawMessage
	Metadata struct {
		UserInput string `json:"userInput"`
	} `json:"metadata"`
}

type syftArtifact struct {
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Type         string          `json:"type"`
	PURL         string          `json:"purl"`
	MetadataType string          `json:"metadataType"`
	Metadata     json.RawMessage `json:"metadata"`
	Licenses     json.RawMessage `json:"licenses"`
}

// syftMetadata holds the metadata fields of every metadataType that matter
// for identity; absent ones stay empty.
type syftMetadata struct {
	Source        string          `json:"source"`        // dpkg
	SourceVersion string          `json:"sourceVersion"` // dpkg
	SourceRpm     string          `json:"sourceRpm"`     // rpm
	Epoch         json.RawMessage `json:"epoch"`         // rpm: number or null
	OriginPackage string          `json:"originPackage"` // apk
	PomProperties *struct {
		GroupID    string `json:"groupId"`
		ArtifactID string `json:"artifactId"`
	} `json:"pomProperties"` // java
}

func decodeSyft(fields map[string][]byte) (*Document, error) {
	var schema syftSchema
	if raw := fields["schema"]; raw != nil {
		if err := json.Unmarshal(raw, &schema); err != nil {
			return nil, fmt.Errorf("%s: schema: %v", FormatSyftJSON, err)
		}
	}
	b := newBuilder(FormatSyftJSON, schema.Version)
	if raw := fields["distro"]; raw != nil && !isNull(raw) {
		var d syftDistro
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, jsonError(FormatSyftJSON+": distro", raw, err)
		}
		switch {
		case d.ID != "":
			b.doc.Distro = &Distro{ID: strings.ToLower(d.ID), VersionID: d.VersionID, Variant: distrolessVariant(d.PrettyName, d.HomeURL)}
		case d.Name != "":
			b.doc.Distro = distroFromName(d.Name, d.Version)
		}
	}
	if raw := fields["source"]; raw != nil {
		var s syftSource
		if json.Unmarshal(raw, &s) == nil {
			b.doc.Subject = s.Metadata.UserInput
			if b.doc.Subject == "" {
				var t struct {
					UserInput string `json:"userInput"`
				}
				if json.Unmarshal(s.Target, &t) == nil && t.UserInput != "" {
					b.doc.Subject = t.UserInput
				} else if s.Target != nil && s.Target[0] == '"' {
					_ = json.Unmarshal(s.Target, &b.doc.Subject)
				}
			}
			if b.doc.Subject == "" {
				b.doc.Subject = s.Name
			}
		}
	}
	rawArtifacts := bytes.TrimSpace(fields["artifacts"])
	if isNull(rawArtifacts) {
		return b.finish(), nil
	}
	if len(rawArtifacts) == 0 || rawArtifacts[0] != '[' {
		return nil, fmt.Errorf("%s: artifacts is a JSON %s, want an array of packages", FormatSyftJSON, jsonKind(rawArtifacts))
	}
	var artifacts []json.RawMessage
	if err := json.Unmarshal(rawArtifacts, &artifacts); err != nil {
		return nil, jsonError(FormatSyftJSON, rawArtifacts, err)
	}
	for i, raw := range artifacts {
		var a syftArtifact
		if err := json.Unmarshal(raw, &a); err != nil {
			b.unidentified("", "", "", fmt.Sprintf("artifact %d is malformed: %v", i, err))
			continue
		}
		var md syftMetadata
		if len(a.Metadata) > 0 && !isNull(a.Metadata) {
			// A malformed metadata object loses only the hints it carried.
			_ = json.Unmarshal(a.Metadata, &md)
		}
		h := hints{name: a.Name, version: a.Version, licenses: syftLicenses(a.Licenses)}
		switch a.Type {
		case "deb", "dpkg":
			h.sourceName, h.sourceVersion = md.Source, md.SourceVersion
		case "rpm":
			h.sourceRPM = md.SourceRpm
			if e := strings.Trim(string(md.Epoch), `" `); e != "" && e != "null" {
				h.epoch = e
			}
		case "apk":
			h.sourceName = md.OriginPackage
		}
		purl := a.PURL
		if purl == "" {
			var reason string
			purl, reason = syftPURL(a, md, b.doc.Distro)
			if purl == "" {
				b.unidentified(a.Name, a.Version, "", reason)
				continue
			}
		}
		b.add(purl, h)
	}
	return b.finish(), nil
}

// syftPURL builds a purl for an artifact that has none (old Syft versions
// left it empty for some catalogers) from its type, name and version.
func syftPURL(a syftArtifact, md syftMetadata, distro *Distro) (string, string) {
	if a.Name == "" {
		return "", "no purl and no name"
	}
	ns, name := "", a.Name
	var typ string
	switch a.Type {
	case "deb", "dpkg", "rpm", "apk":
		typ = map[string]string{"deb": "deb", "dpkg": "deb", "rpm": "rpm", "apk": "apk"}[a.Type]
		if distro != nil {
			if fam, ok := lookupOS(distro.ID); ok {
				ns = fam.namespace
			}
		}
	case "go-module":
		typ = "golang"
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			ns, name = name[:i], name[i+1:]
		}
	case "python":
		typ = "pypi"
	case "npm":
		typ = "npm"
		if strings.HasPrefix(name, "@") {
			if i := strings.IndexByte(name, '/'); i > 0 {
				ns, name = name[:i], name[i+1:]
			}
		}
	case "gem":
		typ = "gem"
	case "rust-crate":
		typ = "cargo"
	case "php-composer":
		typ = "composer"
		if i := strings.IndexByte(name, '/'); i > 0 {
			ns, name = name[:i], name[i+1:]
		}
	case "dotnet":
		typ = "nuget"
	case "java-archive", "jenkins-plugin":
		if md.PomProperties == nil || md.PomProperties.GroupID == "" || md.PomProperties.ArtifactID == "" {
			return "", "no purl and no Maven coordinates (pomProperties groupId/artifactId)"
		}
		typ, ns, name = "maven", md.PomProperties.GroupID, md.PomProperties.ArtifactID
	default:
		return "", fmt.Sprintf("no purl (artifact type %q)", a.Type)
	}
	return packageurl.NewPackageURL(typ, ns, name, a.Version, nil, "").ToString(), ""
}

// syftLicenses reads licenses written as strings (old schemas) or as
// objects with value/spdxExpression (newer ones).
func syftLicenses(raw json.RawMessage) []string {
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	var out []string
	var strs []string
	if json.Unmarshal(raw, &strs) == nil {
		for _, s := range strs {
			if s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var objs []struct {
		Value          string `json:"value"`
		SPDXExpression string `json:"spdxExpression"`
	}
	if json.Unmarshal(raw, &objs) == nil {
		for _, o := range objs {
			switch {
			case o.SPDXExpression != "":
				out = append(out, o.SPDXExpression)
			case o.Value != "":
				out = append(out, o.Value)
			}
		}
	}
	return out
}

func isNull(b []byte) bool {
	return string(bytes.TrimSpace(b)) == "null"
}

// jsonKind names the kind of a raw JSON value for error messages.
func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
