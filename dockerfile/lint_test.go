package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/safeguard-dev/safeguard/imageref"
)

const pin = "@sha256:9b8f4d0a3e1c2b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0918"

// f renders a finding compactly for exact comparison.
func f(line int, stage, instr, ref, kind string) string {
	return fmt.Sprintf("%d %s %s %s %s", line, stage, instr, ref, kind)
}

func got(r Report) []string {
	out := make([]string, len(r.Findings))
	for i, x := range r.Findings {
		out[i] = f(x.Line, x.Stage, x.Instruction, x.Reference, x.Kind)
	}
	return out
}

func lint(t *testing.T, src string, opts Options) Report {
	t.Helper()
	r, err := Lint("Dockerfile", []byte(src), opts)
	if err != nil {
		t.Fatalf("Lint: %v", err)
	}
	return r
}

func same(t *testing.T, r Report, want ...string) {
	t.Helper()
	g := got(r)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

func TestStagesArgsAndPlatforms(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
ARG ALPINE=3.20
ARG RUNTIME=gcr.io/distroless/static-debian12:nonroot
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine` + pin + ` AS Build
RUN go build ./...

FROM build AS test
RUN go test ./...

FROM alpine:${ALPINE}` + pin + ` AS certs
FROM ${RUNTIME}
COPY --from=build /out/app /app
COPY --from=certs /etc/ssl /etc/ssl
COPY --from=0 /x /x
`
	r := lint(t, src, Options{})
	if r.Stages != 4 || r.References != 3 {
		t.Errorf("stages %d references %d, want 4 and 3", r.Stages, r.References)
	}
	same(t, r, f(12, "3", InstrFrom, "gcr.io/distroless/static-debian12:nonroot", imageref.KindUnpinned))
	if r.Findings[0].Written != "${RUNTIME}" || r.Findings[0].File != "Dockerfile" {
		t.Errorf("written %q file %q", r.Findings[0].Written, r.Findings[0].File)
	}

	// --build-arg overrides the default, and what is checked is the result.
	r = lint(t, src, Options{BuildArgs: map[string]string{"ALPINE": "3.154", "RUNTIME": "gcr.io/distroless/static" + pin}})
	same(t, r, f(11, "certs", InstrFrom, "alpine:3.154"+pin, imageref.KindUnknownTag))
	if x := r.Findings[0]; x.Suggestion != "alpine:3.15"+pin || x.Written != "alpine:${ALPINE}"+pin {
		t.Errorf("suggestion %q written %q", x.Suggestion, x.Written)
	}
	// A build arg for an ARG never declared changes nothing (as in BuildKit).
	r = lint(t, "FROM alpine:${V}"+pin+"\n", Options{BuildArgs: map[string]string{"V": "3.20"}})
	same(t, r, f(1, "0", InstrFrom, "alpine:"+pin, KindUnresolved))
}

func TestUnresolvedArgs(t *testing.T) {
	src := "ARG BASE\nARG TAG=\nFROM $BASE\nFROM node:${TAG}\nFROM ${NOPE:-node:20" + pin + "}\n"
	r := lint(t, src, Options{})
	same(t, r,
		f(3, "0", InstrFrom, "", KindUnresolved),
		f(4, "1", InstrFrom, "node:", imageref.KindMalformed), // TAG is set, to ""
	)
	if m := r.Findings[0].Message; !strings.Contains(m, "ARG BASE has no value") || !strings.Contains(m, "--build-arg BASE=") {
		t.Errorf("message %q", m)
	}
	if r.References != 2 {
		t.Errorf("references %d, want 2 (node: and node:20)", r.References)
	}
	// ${X:-word} says what an unset X means: checked, not unresolved.
	same(t, lint(t, "FROM ${NOPE:-ubunto:20.04"+pin+"}\n", Options{}), f(1, "0", InstrFrom, "ubunto:20.04"+pin, imageref.KindTyposquatName))
	// With the value given, it is checked.
	r = lint(t, src, Options{BuildArgs: map[string]string{"BASE": "ubunto:20.04" + pin, "TAG": "20" + pin}})
	same(t, r, f(3, "0", InstrFrom, "ubunto:20.04"+pin, imageref.KindTyposquatName))
}

func TestCopyAndMountImages(t *testing.T) {
	src := `FROM alpine:3.20` + pin + ` AS base
ARG TOOL=ghrc.io/acme/tool:1.0
COPY --from=ghcr.io/acme/tool:1.0` + pin + ` /tool /tool
COPY --from=$TOOL /t /t
COPY --from=BASE /etc /etc
RUN --mount=type=cache,target=/root/.cache \
    --mount=type=bind,from=bussybox:1.36,source=/bin,target=/b \
    --mount=from=base,target=/base true
FROM scratch
COPY --from=1 /a /a
COPY --from=nginx:latest /usr/share/nginx /n
`
	r := lint(t, src, Options{AllowUnpinned: true})
	same(t, r,
		f(4, "base", InstrCopy, "ghrc.io/acme/tool:1.0", imageref.KindLookalikeRegistry),
		f(6, "base", InstrMount, "bussybox:1.36", imageref.KindTyposquatName),
		f(11, "1", InstrCopy, "nginx:latest", imageref.KindLatest),
	)
	if r.References != 5 {
		t.Errorf("references %d, want 5 (alpine, two tools, bussybox, nginx)", r.References)
	}
	if x := r.Findings[1]; x.Resembles != "busybox" || x.Suggestion != "busybox:1.36" {
		t.Errorf("mount finding %+v", x)
	}
}

// A stage can only be used as a base after it is defined; a later stage's
// name in FROM is an image of that name.
func TestStageOrder(t *testing.T) {
	r := lint(t, "FROM later\nFROM alpine:3.20"+pin+" AS later\nFROM later\n", Options{AllowUnpinned: true})
	same(t, r, f(1, "0", InstrFrom, "later", imageref.KindLatest))
	if r.References != 2 {
		t.Errorf("references %d", r.References)
	}
}

func TestLinesAndEscape(t *testing.T) {
	src := "# escape=`\n\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS win\nRUN echo hi\nFROM ubunto:22.04" + pin + "\n"
	r := lint(t, src, Options{AllowUnpinned: true})
	same(t, r, f(7, "1", InstrFrom, "ubunto:22.04"+pin, imageref.KindTyposquatName))
	r = lint(t, src, Options{})
	if r.Findings[0].Line != 3 || r.Findings[0].Stage != "win" {
		t.Errorf("continued FROM: %+v", r.Findings[0])
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		"":                                "Dockerfile: file with no instructions",
		"RUN true\n":                      "Dockerfile:1: no build stage in current context",
		"FROM alpine\nFORM ubuntu\n":      "Dockerfile:2: unknown instruction: FORM",
		"FROM alpine\n\nFROM --foo=1 x\n": "Dockerfile:3: unknown flag: --foo",
		"FROM a AS\n":                     "Dockerfile:1: FROM requires either one or three arguments",
		"ARG X=1\n":                       "Dockerfile: no FROM instruction",
	} {
		_, err := Lint("Dockerfile", []byte(src), Options{})
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
	if _, err := Lint("big", make([]byte, maxFileSize+1), Options{}); err == nil {
		t.Error("an oversized file was parsed")
	}
}

// A line BuildKit cannot read is refused with its number; the parser alone
// calls a long first line an empty file.
func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", maxLineLength+1)
	for src, want := range map[string]string{
		"FROM " + long + "\n": "Dockerfile:1: line longer than 65535 bytes",
		"FROM alpine" + pin + "\nRUN " + long + "\nFROM ubunto\n": "Dockerfile:2: line longer than 65535 bytes",
	} {
		if _, err := Lint("Dockerfile", []byte(src), Options{}); err == nil || err.Error() != want {
			t.Errorf("%.40q: %v, want %q", src, err, want)
		}
	}
}

// Substitution is bounded: ARGs that double each other are refused in
// milliseconds instead of expanding to gigabytes.
func TestSubstitutionBomb(t *testing.T) {
	doubling := func(kw string) string {
		var b strings.Builder
		for i := 0; i < 40; i++ {
			b.WriteString(kw + " A=${A}${A}\n")
		}
		return b.String()
	}
	for name, c := range map[string]struct{ src, want string }{
		"global ARG":  {"ARG A=x\n" + doubling("ARG") + "FROM ${A}\n", "Dockerfile:18: variable A expands"},
		"stage ENV":   {"FROM alpine" + pin + "\nARG A=x\n" + doubling("ENV") + "COPY --from=${A} / /\n", "Dockerfile:19: variable A expands"},
		"one FROM":    {"ARG A=" + strings.Repeat("x", 60000) + "\nFROM " + strings.Repeat("${A}", 2000) + "\n", "Dockerfile:2: variable A expands"},
		"--build-arg": {"ARG A\nFROM ${A}\n", "Dockerfile:1: variable A expands"},
	} {
		opts := Options{}
		if name == "--build-arg" {
			opts.BuildArgs = map[string]string{"A": strings.Repeat("a", maxValueLength+1)}
		}
		_, err := Lint("Dockerfile", []byte(c.src), opts)
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestOrganisationCatalogue(t *testing.T) {
	cat, err := imageref.Default().Extend([]string{"registry.acme.corp"}, []string{"registry.acme.corp/base/node"})
	if err != nil {
		t.Fatal(err)
	}
	src := "FROM registry.acme.corp/base/node:20" + pin + "\nFROM registry.acme.corp/base/nodes:20" + pin + "\nFROM registry.acne.corp/base/node:20" + pin + "\n"
	r := lint(t, src, Options{Catalog: cat})
	same(t, r,
		f(2, "1", InstrFrom, "registry.acme.corp/base/nodes:20"+pin, imageref.KindTyposquatName),
		f(3, "2", InstrFrom, "registry.acne.corp/base/node:20"+pin, imageref.KindLookalikeRegistry),
	)
	// The trusted registry is trusted: no name findings for anything in it
	// other than look-alikes of approved bases.
	if r := lint(t, "FROM registry.acme.corp/team/whatever:1"+pin+"\n", Options{Catalog: cat}); len(r.Findings) != 0 {
		t.Errorf("%+v", r.Findings)
	}
}

// ONBUILD triggers pull their images in every build FROM this image: a
// typosquat there is as bad as one in FROM. A bare word may be a stage of
// the child build and is left alone.
func TestOnbuildTriggers(t *testing.T) {
	src := "FROM alpine:3.20" + pin + "\n" +
		"ONBUILD COPY --from=ubunto:20.04" + pin + " / /\n" +
		"ONBUILD RUN --mount=type=bind,from=bussybox:1.36" + pin + ",target=/x true\n" +
		"ONBUILD COPY --from=builder /out /out\n" +
		"ONBUILD COPY --from=0 /out /out\n" +
		"ONBUILD RUN true\n"
	r := lint(t, src, Options{})
	same(t, r,
		f(2, "0", InstrOnbuildCopy, "ubunto:20.04"+pin, imageref.KindTyposquatName),
		f(3, "0", InstrOnbuildMount, "bussybox:1.36"+pin, imageref.KindTyposquatName),
	)
}
