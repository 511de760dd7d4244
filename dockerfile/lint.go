package dockerfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/safeguard-dev/safeguard/imageref"
)

// KindUnresolved is a reference built from an ARG that has no value: what
// will be pulled is unknown, so it cannot be checked.
const KindUnresolved = "unresolved-arg"

// Where a reference is written.
const (
	InstrFrom  = "FROM"
	InstrCopy  = "COPY --from"
	InstrMount = "RUN --mount"
	// ONBUILD triggers run in the builds of images FROM this one.
	InstrOnbuildCopy  = "ONBUILD COPY --from"
	InstrOnbuildMount = "ONBUILD RUN --mount"
)

// Scratch is the empty base image; it pulls nothing.
const Scratch = "scratch"

// maxFileSize bounds what is read as a Dockerfile; real ones are a few KiB.
const maxFileSize = 4 << 20

// maxLineLength is the longest line BuildKit's parser reads (bufio's token
// limit). It stops at a longer one, and when that line is the first it
// reports an empty file, so the line is refused here with its number.
const maxLineLength = bufio.MaxScanTokenSize - 1

// maxValueLength bounds what one substitution may produce (an ARG or ENV
// value, a reference). Every ARG may double the one before
// (ARG A=${A}${A}), so thirty lines would otherwise expand to gigabytes.
const maxValueLength = 64 << 10

// Options say what references are checked against.
type Options struct {
	// Catalog is what names are compared with; nil means imageref.Default().
	Catalog *imageref.Catalog
	// Tags lists a registry's tags; nil means the catalogue's release patterns.
	Tags imageref.TagLister
	// BuildArgs override the defaults of ARGs, as docker build --build-arg does.
	BuildArgs map[string]string
	// AllowUnpinned drops the findings for references without a digest.
	AllowUnpinned bool
}

// Finding is one problem with one image reference of a Dockerfile.
type Finding struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	Stage       string `json:"stage"`       // the stage's name, or its index when unnamed
	Instruction string `json:"instruction"` // FROM, COPY --from, RUN --mount
	Reference   string `json:"reference"`   // after ARG substitution
	Written     string `json:"written,omitempty"`
	Kind        string `json:"kind"`
	Message     string `json:"message"`
	Resembles   string `json:"resembles,omitempty"`
	Suggestion  string `json:"suggestion,omitempty"`
}

// Report is the result of linting one Dockerfile.
type Report struct {
	File       string    `json:"file"`
	Stages     int       `json:"stages"`
	References int       `json:"references"` // image references checked (stages and scratch excluded)
	Findings   []Finding `json:"findings"`
}

// ParseError is a Dockerfile that BuildKit cannot parse.
type ParseError struct {
	File string
	Line int // 0 when the parser gave no line
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// automaticArgs are the platform ARGs BuildKit defines for every FROM
// without a declaration; values are those of a linux/amd64 build.
var automaticArgs = [...]string{
	"BUILDPLATFORM=linux/amd64", "BUILDOS=linux", "BUILDARCH=amd64", "BUILDVARIANT=",
	"TARGETPLATFORM=linux/amd64", "TARGETOS=linux", "TARGETARCH=amd64", "TARGETVARIANT=",
}

// Lint parses a Dockerfile and checks every image it pulls. file names it
// in findings and errors.
func Lint(file string, data []byte, opts Options) (Report, error) {
	rep := Report{File: file, Findings: []Finding{}}
	if len(data) > maxFileSize {
		return rep, &ParseError{File: file, Err: fmt.Errorf("larger than %d bytes", maxFileSize)}
	}
	if n := longLine(data); n > 0 {
		return rep, &ParseError{File: file, Line: n, Err: fmt.Errorf("line longer than %d bytes", maxLineLength)}
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return rep, parseError(file, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return rep, parseError(file, err)
	}
	if len(stages) == 0 {
		return rep, &ParseError{File: file, Err: errors.New("no FROM instruction")}
	}
	cat := opts.Catalog
	if cat == nil {
		cat = imageref.Default()
	}
	lex := shell.NewLex(res.EscapeToken)
	global := newEnv(automaticArgs[:])
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			global.declare(lex, kv, opts.BuildArgs)
		}
		if global.overflow != "" {
			return rep, tooLong(file, firstLine(a.Location()), global.overflow)
		}
	}
	l := linter{rep: &rep, cat: cat, opts: opts, lex: lex}
	names := map[string]bool{}
	for i, st := range stages {
		stageID := strconv.Itoa(i)
		if st.Name != "" {
			stageID = st.Name
		}
		line := firstLine(st.Location)
		if base, ok := l.expand(st.BaseName, global, line, stageID, InstrFrom); ok {
			switch {
			case base == Scratch:
			case names[strings.ToLower(base)]: // an earlier stage
			default:
				l.check(base, st.BaseName, line, stageID, InstrFrom)
			}
		}
		if st.Name != "" {
			names[strings.ToLower(st.Name)] = true
		}
		if err := l.commands(st, i, stageID, global, stages); err != nil {
			return Report{File: file, Findings: []Finding{}}, err
		}
		if l.err != nil {
			return Report{File: file, Findings: []Finding{}}, l.err
		}
	}
	rep.Stages = len(stages)
	return rep, nil
}

// longLine is the number of the first line longer than maxLineLength, or 0.
func longLine(data []byte) int {
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		if i > maxLineLength {
			return n
		}
		data = data[min(i+1, len(data)):]
	}
	return 0
}

func tooLong(file string, line int, key string) error {
	return &ParseError{File: file, Line: line, Err: fmt.Errorf("variable %s expands to more than %d bytes (nested ARG/ENV substitution)", key, maxValueLength)}
}

type linter struct {
	rep  *Report
	cat  *imageref.Catalog
	opts Options
	lex  *shell.Lex
	err  error // a substitution that grew too large: the file is refused
}

// commands lints the images named by COPY --from and RUN --mount=from in a
// stage. ARG and ENV inside the stage are applied in order, as BuildKit
// expands these flags with the stage's own variables.
func (l *linter) commands(st instructions.Stage, index int, stageID string, global *env, stages []instructions.Stage) error {
	local := &env{vals: map[string]string{}}
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				if kv.Value == nil {
					// A bare ARG in a stage takes the global value, if any.
					if v, ok := global.vals[kv.Key]; ok {
						local.set(kv.Key, v)
					} else if v, ok := l.opts.BuildArgs[kv.Key]; ok {
						local.set(kv.Key, v)
					}
					continue
				}
				local.declare(l.lex, kv, l.opts.BuildArgs)
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if r, err := local.process(l.lex, kv.Value); err == nil {
					local.set(kv.Key, r.Result)
				}
			}
		case *instructions.CopyCommand:
			if c.From != "" {
				l.fromFlag(c.From, firstLine(c.Location()), stageID, InstrCopy, local, stages, index)
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					l.fromFlag(m.From, firstLine(c.Location()), stageID, InstrMount, local, stages, index)
				}
			}
		case *instructions.OnbuildCommand:
			// The trigger runs in every image built FROM this one: what it
			// pulls is pulled there.
			l.onbuild(c, stageID, local)
		}
		if local.overflow != "" {
			return tooLong(l.rep.File, firstLine(c.Location()), local.overflow)
		}
	}
	return nil
}

// onbuild lints the image an ONBUILD COPY --from or RUN --mount=from
// pulls. Stage names are those of the child build, unknown here, so only a
// value that can be nothing but an image (it has a tag, a digest or a '/')
// is checked: a bare word may be a stage of the child.
func (l *linter) onbuild(c *instructions.OnbuildCommand, stageID string, e *env) {
	res, err := parser.Parse(strings.NewReader(c.Expression))
	if err != nil || len(res.AST.Children) == 0 {
		return // BuildKit parsed the trigger already; nothing to add
	}
	cmd, err := instructions.ParseCommand(res.AST.Children[0])
	if err != nil {
		return
	}
	line := firstLine(c.Location())
	var froms []string
	var instr string
	switch t := cmd.(type) {
	case *instructions.CopyCommand:
		froms, instr = []string{t.From}, InstrOnbuildCopy
	case *instructions.RunCommand:
		instr = InstrOnbuildMount
		for _, m := range instructions.GetMounts(t) {
			froms = append(froms, m.From)
		}
	}
	for _, from := range froms {
		if from == "" {
			continue
		}
		v, ok := l.expand(from, e, line, stageID, instr)
		if !ok || v == Scratch {
			continue
		}
		if !strings.ContainsAny(v, "/:@") {
			continue
		}
		l.check(v, from, line, stageID, instr)
	}
}

// fromFlag lints the value of --from: a stage name or index, or an image.
func (l *linter) fromFlag(written string, line int, stageID, instr string, e *env, stages []instructions.Stage, index int) {
	v, ok := l.expand(written, e, line, stageID, instr)
	if !ok {
		return
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < len(stages) {
		return
	}
	for _, s := range stages {
		if s.Name != "" && strings.EqualFold(s.Name, v) {
			return
		}
	}
	if v == Scratch {
		return
	}
	l.check(v, written, line, stageID, instr)
}

// expand substitutes variables; a reference that uses one without a value is
// reported and not checked further.
func (l *linter) expand(word string, e *env, line int, stageID, instr string) (string, bool) {
	r, err := e.process(l.lex, word)
	if e.overflow != "" {
		if l.err == nil {
			l.err = tooLong(l.rep.File, line, e.overflow)
		}
		return "", false
	}
	f := Finding{File: l.rep.File, Line: line, Stage: stageID, Instruction: instr, Reference: word, Kind: KindUnresolved}
	if err != nil {
		f.Message = fmt.Sprintf("%s cannot be expanded: %v", word, err)
		l.rep.Findings = append(l.rep.Findings, f)
		return "", false
	}
	// Only a bare $X or ${X} of an unset variable leaves a hole; ${X:-word}
	// and the other forms say what an unset X means.
	var missing []string
	if len(r.Unmatched) > 0 {
		for _, m := range bareVar.FindAllStringSubmatch(word, -1) {
			k := m[1] + m[2]
			if _, ok := r.Unmatched[k]; ok && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
	}
	if len(missing) > 0 || r.Result == "" {
		f.Reference = r.Result
		f.Written = word
		if len(missing) == 0 {
			f.Message = fmt.Sprintf("%s %s expands to nothing, so the image cannot be checked", instr, word)
		} else {
			f.Message = fmt.Sprintf("%s %s: ARG %s has no value, so the image cannot be checked; give it a default or pass --build-arg %s=<value>",
				instr, word, strings.Join(missing, ", "), missing[0])
		}
		l.rep.Findings = append(l.rep.Findings, f)
		return "", false
	}
	return r.Result, true
}

var bareVar = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

func (l *linter) check(ref, written string, line int, stageID, instr string) {
	l.rep.References++
	_, fs := imageref.CheckString(ref, l.cat, l.opts.Tags)
	for _, f := range fs {
		if l.opts.AllowUnpinned && f.Kind == imageref.KindUnpinned {
			continue
		}
		out := Finding{File: l.rep.File, Line: line, Stage: stageID, Instruction: instr, Reference: ref,
			Kind: f.Kind, Message: f.Message, Resembles: f.Resembles, Suggestion: f.Suggestion}
		if written != ref {
			out.Written = written
		}
		l.rep.Findings = append(l.rep.Findings, out)
	}
}

func firstLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func parseError(file string, err error) error {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	// The location error's own text already carries no line; instructions'
	// wrapper says "dockerfile parse error on line N": keep the cause only.
	msg := err
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "dockerfile parse error on line") {
		msg = u
		if line == 0 {
			fmt.Sscanf(err.Error(), "dockerfile parse error on line %d", &line)
		}
	}
	return &ParseError{File: file, Line: line, Err: msg}
}

// env is a set of variables for shell.Lex.
type env struct {
	vals map[string]string
	keys []string
	// spent is what the current substitution has read; overflow is the
	// variable that took it past maxValueLength (it read as empty then).
	spent    int
	overflow string
}

// process substitutes the variables of word, refusing to produce more than
// maxValueLength bytes: check overflow afterwards.
func (e *env) process(lex *shell.Lex, word string) (shell.ProcessWordResult, error) {
	e.spent = 0
	return lex.ProcessWordWithMatches(word, e)
}

func newEnv(kvs []string) *env {
	e := &env{vals: map[string]string{}}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		e.set(k, v)
	}
	return e
}

func (e *env) set(k, v string) {
	if len(v) > maxValueLength && e.overflow == "" {
		e.overflow = k // a --build-arg, or a literal on one long line
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

// declare applies an ARG: a --build-arg wins over the default, which is
// expanded with the variables declared before it; an ARG with neither stays
// unset.
func (e *env) declare(lex *shell.Lex, kv instructions.KeyValuePairOptional, buildArgs map[string]string) {
	if v, ok := buildArgs[kv.Key]; ok {
		e.set(kv.Key, v)
		return
	}
	if kv.Value == nil {
		return
	}
	if r, err := e.process(lex, *kv.Value); err == nil {
		e.set(kv.Key, r.Result)
	}
}

func (e *env) Get(k string) (string, bool) {
	v, ok := e.vals[k]
	if ok && e.overflow == "" {
		if e.spent += len(v); e.spent > maxValueLength {
			e.overflow = k
		}
	}
	if e.overflow != "" {
		return "", ok
	}
	return v, ok
}

func (e *env) Keys() []string { return slices.Clone(e.keys) }
