package admission

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/yaml"
)

// outcome is everything the webhook reads from a decoded review: the
// answer is a function of it.
type outcome struct {
	Err        string
	APIVersion string
	Request    *admissionv1.AdmissionRequest
	Workload   workload
	ObjectErr  string
	Old        string
}

func outcomeOf(rv review, err error) outcome {
	if err != nil {
		return outcome{Err: err.Error()}
	}
	o := outcome{APIVersion: rv.apiVersion, Request: rv.req, Old: string(rv.oldObject())}
	wl, err := rv.object()
	o.Workload = wl
	if err != nil {
		o.ObjectErr = err.Error()
	}
	return o
}

// sameAsV1 decodes body as the webhook does and with encoding/json alone
// (decodeReviewV1, the decoder before v2) and fails unless the two agree.
func sameAsV1(t testing.TB, body []byte) outcome {
	t.Helper()
	got, want := outcomeOf(decodeReview(body)), outcomeOf(decodeReviewV1(body))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeReview differs from encoding/json for %.300q\n got %+v\nwant %+v", body, got, want)
	}
	return want
}

// v2Refuses reports whether the v2 fast path refuses body, so that the
// encoding/json path answers it.
func v2Refuses(body []byte) bool {
	var fr fastReview
	return jsonv2.Unmarshal(bytes.TrimSpace(body), &fr, fastOptions) != nil
}

// decodeV2With is the fast path with other v2 options and no fallback: what
// decodeReview would answer with those options.
func decodeV2With(body []byte, opts ...jsonv2.Options) (review, error) {
	var fr fastReview
	if err := jsonv2.Unmarshal(bytes.TrimSpace(body), &fr, opts...); err != nil {
		return review{}, err
	}
	return fr.review(body)
}

// pod is a Pod review in the API server's exact-case JSON; edits rewrite
// parts of it.
const pod = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",` +
	`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
	`"name":"p","namespace":"ns","operation":"CREATE","dryRun":false,"object":{"apiVersion":"v1","kind":"Pod",` +
	`"metadata":{"name":"p","namespace":"ns","labels":{"app":"a"}},` +
	`"spec":{"initContainers":[{"name":"i0","image":"busybox:1"}],"containers":[{"name":"c0","image":"nginx:1.27"},{"name":"c1","image":"redis:7"}]}}}}`

func edit(pairs ...string) []byte { return []byte(strings.NewReplacer(pairs...).Replace(pod)) }

func TestDecodeBaseIsFast(t *testing.T) {
	if v2Refuses([]byte(pod)) {
		t.Fatal("the fast path refuses an exact-case, valid review")
	}
	o := sameAsV1(t, []byte(pod))
	if o.Err != "" || o.ObjectErr != "" || len(o.Workload.Containers) != 3 || string(o.Request.UID) != "u-1" {
		t.Fatalf("base review decoded as %+v", o)
	}
}

// nameCase is a review with a name in another case and which v2 options
// alone would answer differently from v1.
type nameCase struct {
	name string
	body []byte
	// naive: plain v2 (no options) answers differently; fold: v2 with its
	// own case folding (dashes and underscores ignored) does.
	naive, fold bool
}

func nameCaseCases() []nameCase {
	return []nameCase{
		{"UID", edit(`"uid":`, `"UID":`), true, false},
		{"Request", edit(`"request":`, `"Request":`), true, false},
		{"APIVERSION and KIND", edit(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"`, `{"APIVERSION":"admission.k8s.io/v1","KIND":"AdmissionReview"`), true, false},
		{"Object Spec Containers Image", edit(`"object":`, `"Object":`, `"spec":`, `"Spec":`, `"containers":`, `"CONTAINERS":`, `"image":"nginx`, `"Image":"nginx`), true, false},
		{"Metadata Name", edit(`"metadata":{"name":"p"`, `"Metadata":{"NAME":"p"`), true, false},
		{"Operation", edit(`"operation":"CREATE"`, `"OPERATION":"CREATE"`), true, false},
		{"Kelvin sign", edit(`"kind":{"group":""`, "\"\u212aind\":{\"group\":\"\""), true, false},
		{"long s", edit(`"namespace":"ns","operation"`, "\"name\u017fpace\":\"ns\",\"operation\""), true, false},
		{"dash and underscore", edit(`"uid":"u-1",`, `"uid":"u-1","u_id":"other",`, `"initContainers":`, `"init_containers":`, `"dryRun":false`, `"dry-run":true`), false, true},
		{"escaped name", edit(`"uid":`, `"\u0055id":`), true, false},
	}
}

// Names in another case: encoding/json matches them to the field
// (case-insensitively, by strings.EqualFold, Unicode folding included);
// v2 alone would not (plain: the member is unknown; its own folding also
// ignores '-' and '_'). fastOptions make v2 match exactly as v1, so these
// stay on the fast path with v1's answer.
func TestDecodeNameCaseAsV1(t *testing.T) {
	for _, c := range nameCaseCases() {
		t.Run(c.name, func(t *testing.T) {
			if v2Refuses(c.body) {
				t.Error("the fast path refuses it; it should match the names as v1 does")
			}
			want := sameAsV1(t, c.body)
			naive := outcomeOf(decodeV2With(c.body))
			if differs := !reflect.DeepEqual(naive, want); differs != c.naive {
				t.Errorf("plain v2 differs from v1: %v, want %v (the test no longer pins the difference)", differs, c.naive)
			}
			fold := outcomeOf(decodeV2With(c.body, jsonv2.MatchCaseInsensitiveNames(true)))
			if differs := !reflect.DeepEqual(fold, want); differs != c.fold {
				t.Errorf("v2 with its own folding differs from v1: %v, want %v", differs, c.fold)
			}
		})
	}
}

// Duplicate names: encoding/json takes the last (merging a duplicated
// object, keeping a value a later null does not clear); v2 refuses them,
// in any case variation of a field's name and anywhere in the body, so
// encoding/json answers.
func TestDecodeDuplicateNamesAsV1(t *testing.T) {
	for name, body := range duplicateNameBodies() {
		t.Run(name, func(t *testing.T) {
			if !v2Refuses(body) {
				t.Error("the fast path accepts a duplicate name")
			}
			sameAsV1(t, body)
		})
	}
}

func duplicateNameBodies() map[string][]byte {
	return map[string][]byte{
		"image twice":          edit(`"image":"nginx:1.27"`, `"image":"nginx:1.27","image":"evil:1"`),
		"image then IMAGE":     edit(`"image":"nginx:1.27"`, `"image":"nginx:1.27","IMAGE":"evil:1"`),
		"image then null":      edit(`"image":"nginx:1.27"`, `"image":"nginx:1.27","image":null`),
		"containers twice":     edit(`"containers":[`, `"containers":[{"name":"x","image":"evil:1"}],"containers":[`),
		"uid twice":            edit(`"uid":"u-1"`, `"uid":"u-1","uid":"u-2"`),
		"request merged":       edit(`"request":{"uid":"u-1",`, `"request":{"uid":"u-1"},"request":{`),
		"request then null":    edit(`"operation":"CREATE"`, `"operation":"CREATE"},"request":null,"x":{"y":1`),
		"metadata name twice":  edit(`"metadata":{"name":"p"`, `"metadata":{"name":"p","name":"q"`),
		"label twice, skipped": edit(`"labels":{"app":"a"}`, `"labels":{"app":"a","app":"b"}`),
		"kind twice":           edit(`"kind":"AdmissionReview"`, `"kind":"AdmissionReview","kind":"Other"`),
	}
}

// Invalid UTF-8: encoding/json accepts it anywhere and turns it into
// U+FFFD in what it keeps; v2 refuses it, so encoding/json answers.
func TestDecodeInvalidUTF8AsV1(t *testing.T) {
	for name, body := range invalidUTF8Bodies() {
		t.Run(name, func(t *testing.T) {
			if !v2Refuses(body) {
				t.Error("the fast path accepts invalid UTF-8")
			}
			sameAsV1(t, body)
		})
	}
}

func invalidUTF8Bodies() map[string][]byte {
	return map[string][]byte{
		"container name":   edit(`"name":"c0"`, "\"name\":\"c\xff0\""),
		"image":            edit(`"image":"redis:7"`, "\"image\":\"redis:\xc3\x287\""),
		"pod name":         edit(`"metadata":{"name":"p"`, "\"metadata\":{\"name\":\"p\xed\xa0\x80\""),
		"skipped label":    edit(`"app":"a"`, "\"app\":\"a\xfe\""),
		"member name":      edit(`"labels":`, "\"l\xffabels\":"),
		"lone surrogate":   edit(`"name":"c0"`, `"name":"c\ud8000"`),
		"surrogate in uid": edit(`"uid":"u-1"`, `"uid":"\udfff"`),
	}
}

// null: encoding/json leaves a value as it was (a pointer, slice or map it
// sets to nil); v2 stores the zero value. Into a fresh value, without
// duplicates (refused above), the two agree.
func TestDecodeNullAsV1(t *testing.T) {
	for name, body := range nullBodies() {
		t.Run(name, func(t *testing.T) {
			if v2Refuses(body) {
				t.Error("the fast path refuses a null")
			}
			sameAsV1(t, body)
		})
	}
}

func nullBodies() map[string][]byte {
	return map[string][]byte{
		"request":        edit(`"request":{"uid":"u-1",`, `"request":null,"x":{"uid":"u-1",`),
		"uid":            edit(`"uid":"u-1"`, `"uid":null`),
		"kind":           edit(`"kind":{"group":"","version":"v1","kind":"Pod"}`, `"kind":null`),
		"kind group":     edit(`"kind":{"group":""`, `"kind":{"group":null`),
		"dryRun":         edit(`"dryRun":false`, `"dryRun":null`),
		"object":         edit(`"object":{`, `"object":null,"x":{`),
		"oldObject":      edit(`"dryRun":false`, `"dryRun":false,"oldObject":null`),
		"metadata":       edit(`"metadata":{"name":"p","namespace":"ns","labels":{"app":"a"}}`, `"metadata":null`),
		"spec":           edit(`"spec":{`, `"spec":null,"x":{`),
		"containers":     edit(`"containers":[{"name":"c0","image":"nginx:1.27"},{"name":"c1","image":"redis:7"}]`, `"containers":null`),
		"a container":    edit(`{"name":"c0","image":"nginx:1.27"}`, `null`),
		"image":          edit(`"image":"nginx:1.27"`, `"image":null`),
		"apiVersion":     edit(`"apiVersion":"admission.k8s.io/v1"`, `"apiVersion":null`),
		"unknown member": edit(`"resource":{"group":"","version":"v1","resource":"pods"}`, `"resource":null`),
	}
}

// otherCase is a review and whether the fast path refuses it.
type otherCase struct {
	name    string
	body    []byte
	refused bool
}

func otherCases() []otherCase {
	return []otherCase{
		{"unknown members", edit(`"uid":"u-1",`, `"uid":"u-1","zzz":[1,{"a":[true,null,"\u00e9"]},-0.5e+3],`, `"spec":{`, `"status":{"phase":"Running"},"spec":{"hostNetwork":true,`), false},
		{"unknown kind", edit(`"kind":"Pod"}`, `"kind":"Widget"}`, `"group":""`, `"group":"example.com"`), false},
		{"unknown kind, case", edit(`"kind":"Pod"}`, `"kind":"Widget"}`, `"group":""`, `"group":"example.com"`, `"spec":{`, `"SPEC":{`), false},
		{"image is a number", edit(`"image":"nginx:1.27"`, `"image":5`), true},
		{"containers is an object", edit(`"containers":[{"name":"c0","image":"nginx:1.27"},{"name":"c1","image":"redis:7"}]`, `"containers":{}`), true},
		{"dryRun is a string", edit(`"dryRun":false`, `"dryRun":"false"`), true},
		{"uid is a number", edit(`"uid":"u-1"`, `"uid":1`), true},
		{"trailing data", append(edit(), " x"...), true},
		{"two values", append(edit(), "{}"...), true},
		{"truncated", edit()[:len(pod)-3], true},
		{"trailing comma", edit(`"redis:7"}]`, `"redis:7"},]`), true},
		{"not AdmissionReview", edit(`"kind":"AdmissionReview"`, `"kind":"Review"`), false},
		{"v1beta1", edit(`admission.k8s.io/v1"`, `admission.k8s.io/v1beta1"`), false},
		{"DELETE", edit(`"operation":"CREATE"`, `"operation":"DELETE"`, `"object":{`, `"oldObject":{`), false},
		{"UPDATE", edit(`"operation":"CREATE"`, `"operation":"UPDATE"`, `"dryRun":false`, `"dryRun":true,"oldObject":{"spec":{"containers":[{"image":"nginx:1.27"}]}}`), false},
	}
}

// Unknown members are skipped by both, whatever they hold; values of the
// wrong type, trailing data and bad syntax are refused by v2 and answered
// (denied or malformed) by encoding/json as before.
func TestDecodeOtherDifferencesAsV1(t *testing.T) {
	for _, c := range otherCases() {
		t.Run(c.name, func(t *testing.T) {
			if got := v2Refuses(c.body); got != c.refused {
				t.Errorf("fast path refuses: %v, want %v", got, c.refused)
			}
			sameAsV1(t, c.body)
		})
	}
}

// Nesting: both decoders allow 10000 levels and refuse 10001.
func TestDecodeDepthAsV1(t *testing.T) {
	for _, depth := range []int{9999, 10000, 10001} {
		// The review object is level 1, request 2, the unknown member's
		// arrays 3 to depth.
		n := depth - 2
		body := edit(`"uid":"u-1",`, `"uid":"u-1","deep":`+strings.Repeat("[", n)+strings.Repeat("]", n)+`,`)
		if got, want := v2Refuses(body), depth > 10000; got != want {
			t.Errorf("depth %d: fast path refuses: %v, want %v", depth, got, want)
		}
		o := sameAsV1(t, body)
		if (o.Err != "") != (depth > 10000) {
			t.Errorf("depth %d: error %q", depth, o.Err)
		}
	}
}

// reviewBodies are the corpus: every review file and every object of the
// real manifests wrapped in a CREATE review.
func reviewBodies(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	files, _ := filepath.Glob("testdata/connaisseur/*.json")
	cases, _ := filepath.Glob("testdata/cases/*.json")
	for _, p := range append(files, cases...) {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[p] = b
	}
	manifests, _ := filepath.Glob("testdata/workloads/*/*.yaml")
	for _, p := range manifests {
		raw, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		for i, doc := range splitDocs(raw) {
			js, err := yaml.YAMLToJSON(doc)
			if err != nil {
				tb.Fatal(err)
			}
			out[fmt.Sprintf("%s#%d", p, i)] = []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",` +
				`"kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"CREATE","object":` + string(js) + `}}`)
		}
	}
	out["deployment benchmark"] = deploymentReview(tb)
	return out
}

// Every corpus review, malformed, null, DELETE, ephemeral containers and
// all, decodes as before; the valid ones take the fast path.
func TestDecodeCorpusAsV1(t *testing.T) {
	fast := 0
	for name, body := range reviewBodies(t) {
		t.Run(name, func(t *testing.T) {
			sameAsV1(t, body)
			if !v2Refuses(body) {
				fast++
			}
		})
	}
	if fast < 40 {
		t.Errorf("only %d corpus reviews take the fast path", fast)
	}
}

// edits are the reviews of the tests above, by test and case.
func edits() map[string][]byte {
	out := map[string][]byte{"base": []byte(pod)}
	for _, c := range nameCaseCases() {
		out["case "+c.name] = c.body
	}
	for _, set := range []struct {
		prefix string
		bodies map[string][]byte
	}{{"duplicate ", duplicateNameBodies()}, {"utf8 ", invalidUTF8Bodies()}, {"null ", nullBodies()}} {
		for name, b := range set.bodies {
			out[set.prefix+name] = b
		}
	}
	for _, c := range otherCases() {
		out["other "+c.name] = c.body
	}
	return out
}

// The checked-in seeds of FuzzDecodeReview are the edits above (go test
// ./admission -run TestDecodeSeeds -update rewrites them).
func TestDecodeSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeReview")
	for name, body := range edits() {
		path := filepath.Join(dir, strings.NewReplacer(" ", "_", ",", "").Replace(name))
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", body)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("seed %s is missing or stale (go test ./admission -run TestDecodeSeeds -update): %v", path, err)
		}
	}
}

// FuzzDecodeReview: for any body, decodeReview answers what encoding/json
// answers. Seeds: the corpus, and the edits of the tests above (also in
// testdata/fuzz/FuzzDecodeReview).
func FuzzDecodeReview(f *testing.F) {
	for _, b := range reviewBodies(f) {
		f.Add(b)
	}
	for _, b := range edits() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsV1(t, body)
	})
}
