package api

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// openAPIDoc is the part of an OpenAPI 3.0 document the checks read.
type openAPIDoc struct {
	OpenAPI string         `json:"openapi"`
	Info    map[string]any `json:"info"`
	Paths   map[string]map[string]struct {
		OperationID string           `json:"operationId"`
		Parameters  []map[string]any `json:"parameters"`
		Responses   map[string]any   `json:"responses"`
	} `json:"paths"`
	Components struct {
		Parameters map[string]map[string]any `json:"parameters"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	if doc.Info["title"] == nil || doc.Info["version"] == nil {
		t.Errorf("info needs title and version: %v", doc.Info)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("no paths")
	}
	return doc
}

// resolve follows a parameter $ref into components.
func (d openAPIDoc) resolve(p map[string]any) map[string]any {
	if ref, ok := p["$ref"].(string); ok {
		return d.Components.Parameters[strings.TrimPrefix(ref, "#/components/parameters/")]
	}
	return p
}

// TestOpenAPIMatchesRoutes walks the router's routes: each must be in the
// document with exactly its path and query parameters, and every
// documented operation must be a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	s := New(Options{Store: newFixture(t).store})
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			if op.OperationID == "" || op.Responses["200"] == nil {
				t.Errorf("%s %s: needs an operationId and a 200 response", method, path)
			}
		}
	}
	routed := map[string]bool{}
	wildcard := regexp.MustCompile(`\{([a-z_]+)\}`)
	for _, rt := range s.routes {
		key := rt.method + " " + rt.docPath()
		routed[key] = true
		if !documented[key] {
			t.Errorf("route %s (%s) is not in openapi.json", rt.pattern(), key)
			continue
		}
		op := doc.Paths[rt.docPath()][strings.ToLower(rt.method)]
		var query, path []string
		for _, p := range op.Parameters {
			p = doc.resolve(p)
			switch p["in"] {
			case "query":
				query = append(query, p["name"].(string))
			case "path":
				path = append(path, p["name"].(string))
			}
		}
		var wantPath []string
		for _, m := range wildcard.FindAllStringSubmatch(rt.docPath(), -1) {
			wantPath = append(wantPath, m[1])
		}
		sort.Strings(query)
		want := slices.Clone(rt.query)
		sort.Strings(want)
		if !slices.Equal(query, want) {
			t.Errorf("%s: documented query parameters %v, route accepts %v", key, query, want)
		}
		if !slices.Equal(path, wantPath) {
			t.Errorf("%s: documented path parameters %v, path has %v", key, path, wantPath)
		}
	}
	for key := range documented {
		if !routed[key] {
			t.Errorf("openapi.json documents %s, which no route serves", key)
		}
	}
}

// TestOpenAPIRefsResolve checks that every $ref points at a component.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var cur any = doc
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

// schemaChecker checks a decoded JSON value against the document's
// schemas: types, required properties, nullability, enums, and no
// properties the schema does not declare. It covers the subset of OpenAPI
// 3.0 that openapi.json uses.
type schemaChecker struct {
	doc map[string]any
}

func newSchemaChecker(t *testing.T) schemaChecker {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	return schemaChecker{doc}
}

func (c schemaChecker) deref(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var cur any = c.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		s, _ = cur.(map[string]any)
	}
}

// responseSchema is the 200 JSON schema of a documented operation.
func (c schemaChecker) responseSchema(path, method string) map[string]any {
	paths, _ := c.doc["paths"].(map[string]any)
	ops, _ := paths[path].(map[string]any)
	op, _ := ops[method].(map[string]any)
	rs, _ := op["responses"].(map[string]any)
	ok := c.deref(asMap(rs["200"]))
	content := asMap(ok["content"])
	return asMap(asMap(content["application/json"])["schema"])
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func (c schemaChecker) check(at string, s map[string]any, v any) []string {
	s = c.deref(s)
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return []string{at + ": null where the schema does not allow it"}
	}
	if all, ok := s["allOf"].([]any); ok {
		var errs []string
		for _, sub := range all {
			errs = append(errs, c.check(at, asMap(sub), v)...)
		}
		return errs
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return []string{at + ": value not in enum"}
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return []string{at + ": not an object"}
		}
		props := asMap(s["properties"])
		var errs []string
		for _, r := range asSlice(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				errs = append(errs, at+": missing required "+r.(string))
			}
		}
		for k, x := range m {
			switch {
			case props[k] != nil:
				errs = append(errs, c.check(at+"."+k, asMap(props[k]), x)...)
			case s["additionalProperties"] != nil:
				errs = append(errs, c.check(at+"."+k, asMap(s["additionalProperties"]), x)...)
			case props != nil:
				errs = append(errs, at+": undocumented property "+k)
			}
		}
		return errs
	case "array":
		xs, ok := v.([]any)
		if !ok {
			return []string{at + ": not an array"}
		}
		var errs []string
		for i, x := range xs {
			errs = append(errs, c.check(at+"["+strconv.Itoa(i)+"]", asMap(s["items"]), x)...)
		}
		return errs
	case "string":
		if _, ok := v.(string); !ok {
			return []string{at + ": not a string"}
		}
	case "integer":
		if n, ok := v.(float64); !ok || n != float64(int64(n)) {
			return []string{at + ": not an integer"}
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return []string{at + ": not a number"}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return []string{at + ": not a boolean"}
		}
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
