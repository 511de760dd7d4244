package sbom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// decodeCycloneDXJSON decodes with cyclonedx-go (spec 1.0–1.7). If the
// library rejects the document for a reason other than broken JSON — a spec
// version newer than it knows, one component with a field of the wrong
// shape — the components are decoded one by one instead, so that one bad
// component becomes one Unidentified entry rather than a failed SBOM.
func decodeCycloneDXJSON(data []byte, fields map[string][]byte) (*Document, error) {
	var specVersion string
	_ = json.Unmarshal(fields["specVersion"], &specVersion)
	b := newBuilder(FormatCycloneDXJSON, specVersion)
	var bom cdx.BOM
	err := json.Unmarshal(data, &bom)
	if err == nil {
		addCycloneDX(b, &bom)
		return b.finish(), nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, jsonError(FormatCycloneDXJSON, data, err)
	}
	// Lenient path.
	if raw := fields["metadata"]; raw != nil && !isNull(raw) {
		var md cdx.Metadata
		if json.Unmarshal(raw, &md) == nil {
			bom.Metadata = &md
		}
	}
	var comps []cdx.Component
	if raw := bytes.TrimSpace(fields["components"]); raw != nil && !isNull(raw) {
		var rawComps []json.RawMessage
		if jerr := json.Unmarshal(raw, &rawComps); jerr != nil {
			return nil, jsonError(FormatCycloneDXJSON+": components", raw, jerr)
		}
		for i, rc := range rawComps {
			var c cdx.Component
			if cerr := json.Unmarshal(rc, &c); cerr != nil {
				var id struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					PURL    string `json:"purl"`
				}
				_ = json.Unmarshal(rc, &id)
				b.unidentified(id.Name, id.Version, id.PURL, fmt.Sprintf("component %d is malformed: %v", i, cerr))
				continue
			}
			comps = append(comps, c)
		}
	}
	bom.Components = &comps
	addCycloneDX(b, &bom)
	return b.finish(), nil
}

func decodeCycloneDXXML(data []byte) (*Document, error) {
	var bom cdx.BOM
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&bom); err != nil {
		return nil, xmlError(FormatCycloneDXXML, err)
	}
	version := ""
	if i := strings.LastIndexByte(bom.XMLNS, '/'); i >= 0 {
		version = bom.XMLNS[i+1:]
	}
	b := newBuilder(FormatCycloneDXXML, version)
	addCycloneDX(b, &bom)
	return b.finish(), nil
}

func addCycloneDX(b *builder, bom *cdx.BOM) {
	if md := bom.Metadata; md != nil && md.Component != nil {
		// metadata.component is the subject the BOM describes (the image
		// or the application itself), not one of its packages.
		b.doc.Subject = md.Component.Name
		if md.Component.Version != "" {
			b.doc.Subject += "@" + md.Component.Version
		}
		if md.Component.Type == cdx.ComponentTypeOS {
			b.doc.Distro = distroFromName(md.Component.Name, md.Component.Version)
		}
	}
	if bom.Components != nil {
		walkComponents(b, *bom.Components, 0)
	}
}

// maxComponentDepth bounds the recursion into nested components.
const maxComponentDepth = 64

func walkComponents(b *builder, comps []cdx.Component, depth int) {
	for i := range comps {
		c := &comps[i]
		if c.Type == cdx.ComponentTypeOS {
			if b.doc.Distro == nil {
				b.doc.Distro = distroFromName(c.Name, c.Version)
				// Syft writes os-release PRETTY_NAME as the description.
				if b.doc.Distro != nil {
					b.doc.Distro.Variant = distrolessVariant(c.Description, cdxProperty(c, "syft:distro:homeURL"))
				}
			}
		} else {
			h := cdxHints(c)
			if c.PackageURL != "" {
				b.add(c.PackageURL, h)
			} else {
				name := c.Name
				if c.Group != "" {
					name = c.Group + "/" + c.Name
				}
				b.unidentified(name, c.Version, "", fmt.Sprintf("no purl (component type %s)", orNone(string(c.Type))))
			}
		}
		if c.Components != nil && depth < maxComponentDepth {
			walkComponents(b, *c.Components, depth+1)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// cdxHints reads name, version, licences and the source-package properties
// that Syft and Trivy write into CycloneDX.
func cdxHints(c *cdx.Component) hints {
	h := hints{name: c.Name, version: c.Version}
	if c.Licenses != nil {
		for _, l := range *c.Licenses {
			switch {
			case l.Expression != "":
				h.licenses = append(h.licenses, l.Expression)
			case l.License != nil && l.License.ID != "":
				h.licenses = append(h.licenses, l.License.ID)
			case l.License != nil && l.License.Name != "":
				h.licenses = append(h.licenses, l.License.Name)
			}
		}
	}
	if c.Properties == nil {
		return h
	}
	var src, srcVer, srcRel, srcEpoch string
	for _, p := range *c.Properties {
		switch p.Name {
		case "syft:metadata:source":
			h.sourceName = p.Value
		case "syft:metadata:sourceVersion":
			h.sourceVersion = p.Value
		case "syft:metadata:originPackage":
			h.sourceName = p.Value
		case "syft:metadata:sourceRpm":
			h.sourceRPM = p.Value
		case "syft:metadata:epoch":
			h.epoch = p.Value
		case "aquasecurity:trivy:SrcName":
			src = p.Value
		case "aquasecurity:trivy:SrcVersion":
			srcVer = p.Value
		case "aquasecurity:trivy:SrcRelease":
			srcRel = p.Value
		case "aquasecurity:trivy:SrcEpoch":
			srcEpoch = p.Value
		}
	}
	if src != "" {
		h.sourceName, h.sourceVersion = src, joinEVR(srcEpoch, srcVer, srcRel)
	}
	return h
}

// joinEVR writes [epoch:]version[-release], the form Trivy splits apart.
func joinEVR(epoch, version, release string) string {
	if version == "" {
		return ""
	}
	v := version
	if release != "" {
		v += "-" + release
	}
	if epoch != "" && epoch != "0" {
		v = epoch + ":" + v
	}
	return v
}

// cdxProperty returns a component property's value.
func cdxProperty(c *cdx.Component, name string) string {
	if c.Properties == nil {
		return ""
	}
	for _, p := range *c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
