package api

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/safeguard-dev/safeguard/baseimage"
	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/sqlite"
)

//go:embed openapi.json
var openAPIDocument []byte

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openAPIDocument)
	return nil
}

type status struct {
	Status string `json:"status"`
}

// healthz is liveness: the process is serving.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, status{"ok"})
	return nil
}

// readyz is readiness: Options.Ready, or the store answering.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	var err error
	if s.ready != nil {
		err = s.ready()
	} else {
		_, err = s.store.Counts(r.Context())
	}
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Message: "not ready: " + err.Error()}
	}
	writeJSON(w, http.StatusOK, status{"ready"})
	return nil
}

type jsonRegistry struct {
	Name            string   `json:"name"`
	Host            string   `json:"host"`
	Repositories    []string `json:"repositories"`
	Catalog         bool     `json:"catalog"`
	Interval        string   `json:"interval"` // Go duration syntax: "6h0m0s"
	IntervalSeconds float64  `json:"interval_seconds"`
}

func (s *Server) listRegistries(w http.ResponseWriter, r *http.Request) error {
	out := struct {
		Registries []jsonRegistry `json:"registries"`
	}{Registries: []jsonRegistry{}}
	if s.registries != nil {
		for _, reg := range s.registries() {
			out.Registries = append(out.Registries, jsonRegistry{Name: reg.Name, Host: reg.Host, Repositories: nonNil(reg.Repositories),
				Catalog: reg.Catalog, Interval: reg.Interval.String(), IntervalSeconds: reg.Interval.Seconds()})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type currentTag struct {
	Tag    string    `json:"tag"`
	Digest string    `json:"digest"`
	Since  time.Time `json:"since"` // when the tag was first seen pointing at digest
}

type jsonRepository struct {
	Name   string       `json:"name"`
	Images int          `json:"images"`
	Tags   []currentTag `json:"tags"`
}

func (s *Server) listRepositories(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	names, err := s.store.Repositories(ctx)
	if err != nil {
		return err
	}
	out := struct {
		Repositories []jsonRepository `json:"repositories"`
	}{Repositories: make([]jsonRepository, 0, len(names))}
	for _, name := range names {
		imgs, err := s.store.Images(ctx, name)
		if err != nil {
			return err
		}
		hist, err := s.store.TagHistory(ctx, name, "")
		if err != nil {
			return err
		}
		repo := jsonRepository{Name: name, Images: len(imgs), Tags: []currentTag{}}
		for _, t := range hist {
			if t.Current {
				repo.Tags = append(repo.Tags, currentTag{Tag: t.Tag, Digest: t.Digest, Since: t.FirstObserved})
			}
		}
		out.Repositories = append(out.Repositories, repo)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// repositoryTags serves /api/v1/repositories/{repository}/tags. The
// repository is the rest of the path up to the final "/tags", slashes
// included, matched by a {repository...} wildcard.
func (s *Server) repositoryTags(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rest := r.PathValue("repository")
	name, ok := strings.CutSuffix(rest, "/tags")
	if !ok || name == "" {
		return notFound("no route for %s %s (a repository's tag history is /api/v1/repositories/{repository}/tags)", r.Method, r.URL.Path)
	}
	tag, err := query(r).one("tag")
	if err != nil {
		return err
	}
	names, err := s.store.Repositories(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(names, name) {
		return notFound("repository %s not found", name)
	}
	hist, err := s.store.TagHistory(ctx, name, tag)
	if err != nil {
		return err
	}
	if tag != "" && len(hist) == 0 {
		return notFound("tag %s:%s not found", name, tag)
	}
	writeJSON(w, http.StatusOK, struct {
		Repository string            `json:"repository"`
		History    []store.TagRecord `json:"history"`
	}{name, nonNil(hist)})
	return nil
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) error {
	repo, err := query(r).one("repository")
	if err != nil {
		return err
	}
	imgs, err := s.store.Images(r.Context(), repo)
	if err != nil {
		return err
	}
	if imgs, err = s.imagesOnBase(r, imgs); err != nil {
		return err
	}
	for i := range imgs {
		imgs[i] = normalImage(imgs[i])
	}
	writeJSON(w, http.StatusOK, struct {
		Images []store.Image `json:"images"`
	}{nonNil(imgs)})
	return nil
}

func normalImage(img store.Image) store.Image {
	img.Layers, img.DiffIDs = nonNil(img.Layers), nonNil(img.DiffIDs)
	return img
}

func platform(img store.Image) string {
	p := img.OS + "/" + img.Architecture
	if img.Variant != "" {
		p += "/" + img.Variant
	}
	return p
}

// image reads the {digest} image; unknown digests are a 404.
func (s *Server) image(r *http.Request) (store.Image, error) {
	d, err := pathDigest(r)
	if err != nil {
		return store.Image{}, err
	}
	img, err := s.store.Image(r.Context(), d)
	if errors.Is(err, store.ErrNotFound) {
		return img, notFound("image %s not found", d)
	}
	return normalImage(img), err
}

// imageDetail is everything known about one image.
type imageDetail struct {
	Image    store.Image `json:"image"`
	Platform string      `json:"platform"` // os/architecture[/variant]
	// Tags point at the image now (repository:tag), directly or through
	// its index.
	Tags []string `json:"tags"`
	// TagHistory is the full history of every tag that points or pointed
	// at the image (or its index), grouped by repository and tag, newest
	// first within a tag.
	TagHistory     []store.TagRecord `json:"tag_history"`
	Referrers      []store.Referrer  `json:"referrers"`
	SBOMs          []store.SBOM      `json:"sboms"`
	Packages       []sbomPackage     `json:"packages"`
	Findings       []jsonFinding     `json:"findings"` // open findings of its SBOMs
	FindingSummary jsonSummary       `json:"finding_summary"`
	// Trajectory is that of its latest SBOM; null when it has none.
	Trajectory *trajectory `json:"trajectory"`
	// Signature is the signature status under the server's trust policy
	// (sigstatus.Detail); null when no trust policy is configured.
	Signature any `json:"signature"`
	// Base is the base chain, whether the base is outdated and what a
	// rebuild would remove.
	Base baseimage.Description `json:"base"`
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	img, err := s.image(r)
	if err != nil {
		return err
	}
	d := imageDetail{Image: img, Platform: platform(img)}
	if d.Tags, err = s.store.Tags(ctx, img.Digest); err != nil {
		return err
	}
	d.Tags = nonNil(d.Tags)
	if d.TagHistory, err = s.imageTagHistory(ctx, img, d.Tags); err != nil {
		return err
	}
	if d.Referrers, err = s.store.Referrers(ctx, img.Digest); err != nil {
		return err
	}
	d.Referrers = nonNil(d.Referrers)
	if d.SBOMs, err = s.store.ImageSBOMs(ctx, img.Digest); err != nil {
		return err
	}
	d.SBOMs = nonNil(d.SBOMs)
	if d.Packages, err = s.packagesOf(ctx, d.SBOMs); err != nil {
		return err
	}
	fs, err := s.findingsOf(ctx, d.SBOMs, store.FindingFilter{})
	if err != nil {
		return err
	}
	list := toFindingsList(fs)
	if d.Base, err = s.describeBase(ctx, img); err != nil {
		return err
	}
	markInBase(d.Base, list.Findings, fs)
	markFromBase(d.Base, d.Packages)
	d.Findings, d.FindingSummary = list.Findings, list.Summary
	if len(d.SBOMs) > 0 {
		if d.Trajectory, err = s.trajectory(ctx, latest(d.SBOMs).ID); err != nil {
			return err
		}
	}
	if s.signatures != nil {
		if d.Signature, err = s.signatures(ctx, img.Digest, img.IndexDigest); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// imageTagHistory collects the history of the tags pointing at the image
// now (from Tags, "repository:tag") and of the tags of its repository that
// ever pointed at it or its index.
func (s *Server) imageTagHistory(ctx context.Context, img store.Image, tags []string) ([]store.TagRecord, error) {
	type key struct{ repo, tag string }
	want := map[key]bool{}
	for _, t := range tags {
		// The tag follows the last colon: a host:port colon comes before a slash.
		if i := strings.LastIndex(t, ":"); i > 0 && !strings.Contains(t[i:], "/") {
			want[key{t[:i], t[i+1:]}] = true
		}
	}
	own, err := s.store.TagHistory(ctx, img.Repository, "")
	if err != nil {
		return nil, err
	}
	for _, rec := range own {
		if rec.Digest == img.Digest || (img.IndexDigest != "" && rec.Digest == img.IndexDigest) {
			want[key{rec.Repository, rec.Tag}] = true
		}
	}
	out := []store.TagRecord{}
	for _, rec := range own {
		if want[key{rec.Repository, rec.Tag}] {
			out = append(out, rec)
		}
	}
	for k := range want {
		if k.repo == img.Repository {
			continue // already read above
		}
		hist, err := s.store.TagHistory(ctx, k.repo, k.tag)
		if err != nil {
			return nil, err
		}
		out = append(out, hist...)
	}
	slices.SortStableFunc(out, func(a, b store.TagRecord) int {
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Tag, b.Tag), b.FirstObserved.Compare(a.FirstObserved))
	})
	return out, nil
}

// latest is the most recently ingested SBOM (the highest id on a tie).
func latest(sboms []store.SBOM) store.SBOM {
	return slices.MaxFunc(sboms, func(a, b store.SBOM) int {
		return cmp.Or(a.IngestedAt.Compare(b.IngestedAt), cmp.Compare(a.ID, b.ID))
	})
}

func (s *Server) packagesOf(ctx context.Context, sboms []store.SBOM) ([]sbomPackage, error) {
	out := []sbomPackage{}
	for _, sb := range sboms {
		pkgs, err := s.store.Packages(ctx, sb.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range pkgs {
			out = append(out, sbomPackage{SBOMID: sb.ID, jsonPackage: toJSONPackage(p), Type: p.Type})
		}
	}
	return out, nil
}

// findingsOf lists the findings of some SBOMs. No SBOMs means no findings:
// an empty FindingFilter.SBOMIDs would mean every SBOM.
func (s *Server) findingsOf(ctx context.Context, sboms []store.SBOM, f store.FindingFilter) ([]store.Finding, error) {
	if len(sboms) == 0 {
		return nil, nil
	}
	for _, sb := range sboms {
		f.SBOMIDs = append(f.SBOMIDs, sb.ID)
	}
	return s.store.Findings(ctx, f)
}

func (s *Server) trajectory(ctx context.Context, sbomID int64) (*trajectory, error) {
	pts, err := s.store.Trajectory(ctx, sbomID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("sbom %d not found", sbomID)
	} else if err != nil {
		return nil, err
	}
	return &trajectory{SBOMID: sbomID, Points: nonNil(pts)}, nil
}

func (s *Server) imageFindings(w http.ResponseWriter, r *http.Request) error {
	f, err := query(r).findingFilter()
	if err != nil {
		return err
	}
	img, err := s.image(r)
	if err != nil {
		return err
	}
	sboms, err := s.store.ImageSBOMs(r.Context(), img.Digest)
	if err != nil {
		return err
	}
	fs, err := s.findingsOf(r.Context(), sboms, f)
	if err != nil {
		return err
	}
	base, err := s.describeBase(r.Context(), img)
	if err != nil {
		return err
	}
	list := toFindingsList(fs)
	markInBase(base, list.Findings, fs)
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) imagePackages(w http.ResponseWriter, r *http.Request) error {
	img, err := s.image(r)
	if err != nil {
		return err
	}
	sboms, err := s.store.ImageSBOMs(r.Context(), img.Digest)
	if err != nil {
		return err
	}
	pkgs, err := s.packagesOf(r.Context(), sboms)
	if err != nil {
		return err
	}
	base, err := s.describeBase(r.Context(), img)
	if err != nil {
		return err
	}
	markFromBase(base, pkgs)
	writeJSON(w, http.StatusOK, struct {
		Packages []sbomPackage `json:"packages"`
	}{pkgs})
	return nil
}

func (s *Server) imageTrajectory(w http.ResponseWriter, r *http.Request) error {
	img, err := s.image(r)
	if err != nil {
		return err
	}
	sboms, err := s.store.ImageSBOMs(r.Context(), img.Digest)
	if err != nil {
		return err
	}
	if len(sboms) == 0 {
		return notFound("image %s has no SBOM, so no trajectory", img.Digest)
	}
	t, err := s.trajectory(r.Context(), latest(sboms).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) listFindings(w http.ResponseWriter, r *http.Request) error {
	q := query(r)
	f, err := q.findingFilter()
	if err != nil {
		return err
	}
	for _, v := range q.list("sbom") {
		id, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || id <= 0 {
			return badParam("sbom", "%q is not an SBOM id (a positive integer)", v)
		}
		if _, err := s.sbom(r.Context(), id); err != nil {
			return err
		}
		f.SBOMIDs = append(f.SBOMIDs, id)
	}
	fs, err := s.store.Findings(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFindingsList(fs))
	return nil
}

// eventKinds are the values of the kind parameter.
var eventKinds = []string{store.EventTagMoved, store.EventTagDeleted, store.EventNewImage, store.EventNewKEV}

// Event listing limits.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := query(r)
	kinds := q.list("kind")
	for _, k := range kinds {
		if !slices.Contains(eventKinds, k) {
			return badParam("kind", "%q is not one of %s", k, strings.Join(eventKinds, ", "))
		}
	}
	since, err := q.time("since")
	if err != nil {
		return err
	}
	limit, err := q.int("limit", 1, maxEventLimit, defaultEventLimit)
	if err != nil {
		return err
	}
	evs, err := s.store.Events(r.Context(), sqlite.EventFilter{Kinds: kinds, Since: since, Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Events []store.Event `json:"events"`
	}{nonNil(evs)})
	return nil
}

func (s *Server) feeds(w http.ResponseWriter, r *http.Request) error {
	imports, err := s.store.FeedImports(r.Context())
	if err != nil {
		return err
	}
	c, err := s.store.Counts(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Imports []sqlite.FeedImport `json:"imports"`
		Counts  counts              `json:"counts"`
	}{nonNil(imports), counts{SBOMs: c.SBOMs, Packages: c.Packages, Advisories: c.Advisories, Withdrawn: c.Withdrawn,
		KEV: c.KEV, EPSS: c.EPSS, OpenMatches: c.OpenMatches}})
	return nil
}

func (s *Server) listSBOMs(w http.ResponseWriter, r *http.Request) error {
	sboms, err := s.store.SBOMs(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		SBOMs []store.SBOM `json:"sboms"`
	}{nonNil(sboms)})
	return nil
}

// sbom reads one SBOM; an unknown id is a 404.
func (s *Server) sbom(ctx context.Context, id int64) (store.SBOM, error) {
	sb, err := s.store.SBOM(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return sb, notFound("sbom %d not found", id)
	}
	return sb, err
}

func (s *Server) pathSBOM(r *http.Request) (store.SBOM, error) {
	id, err := pathID(r)
	if err != nil {
		return store.SBOM{}, err
	}
	return s.sbom(r.Context(), id)
}

func (s *Server) getSBOM(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.pathSBOM(r)
	if err != nil {
		return err
	}
	pkgs, err := s.packagesOf(r.Context(), []store.SBOM{sb})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		SBOM     store.SBOM    `json:"sbom"`
		Packages []sbomPackage `json:"packages"`
	}{sb, pkgs})
	return nil
}

func (s *Server) sbomFindings(w http.ResponseWriter, r *http.Request) error {
	f, err := query(r).findingFilter()
	if err != nil {
		return err
	}
	sb, err := s.pathSBOM(r)
	if err != nil {
		return err
	}
	fs, err := s.findingsOf(r.Context(), []store.SBOM{sb}, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFindingsList(fs))
	return nil
}

func (s *Server) sbomTrajectory(w http.ResponseWriter, r *http.Request) error {
	sb, err := s.pathSBOM(r)
	if err != nil {
		return err
	}
	t, err := s.trajectory(r.Context(), sb.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
