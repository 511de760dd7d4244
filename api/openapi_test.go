package api

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
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
