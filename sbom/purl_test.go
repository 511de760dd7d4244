package sbom

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReleaseNormalisation(t *testing.T) {
	for _, c := range []struct {
		fn   func(string) string
		name string
		in   string
		want string
	}{
		{debianRelease, "debian", "12", "12"},
		{debianRelease, "debian", "12.5", "12"},
		{debianRelease, "debian", "bookworm", "12"},
		{debianRelease, "debian", "12 (bookworm)", "12"},
		{debianRelease, "debian", "buster", "10"},
		{debianRelease, "debian", "bullseye", "11"},
		{debianRelease, "debian", "trixie", "13"},
		{debianRelease, "debian", "stretch", "9"},
		{debianRelease, "debian", "jessie", "8"},
		{debianRelease, "debian", "wheezy", "7"},
		{debianRelease, "debian", "10.1", "10"},
		{ubuntuRelease, "ubuntu", "22.04", "22.04"},
		{ubuntuRelease, "ubuntu", "22.04.2", "22.04"},
		{ubuntuRelease, "ubuntu", "jammy", "22.04"},
		{ubuntuRelease, "ubuntu", "trusty", "14.04"},
		{ubuntuRelease, "ubuntu", "xenial", "16.04"},
		{ubuntuRelease, "ubuntu", "bionic", "18.04"},
		{ubuntuRelease, "ubuntu", "focal", "20.04"},
		{ubuntuRelease, "ubuntu", "noble", "24.04"},
		{alpineRelease, "alpine", "3.19.1", "3.19"},
		{alpineRelease, "alpine", "3.19", "3.19"},
		{alpineRelease, "alpine", "v3.17", "3.17"},
		{alpineRelease, "alpine", "edge", "edge"},
		{majorRelease, "rhel", "8.6", "8"},
		{majorRelease, "rhel", "el8", "8"},
		{majorRelease, "rhel", "9.4+eus", "9"},
		{majorRelease, "rhel", "8 (Ootpa)", "8"},
		{plainRelease, "amzn", "2 (Karoo)", "2"},
		{plainRelease, "amzn", "AMI release 2018.03", "2018.03"},
		{plainRelease, "suse", "15.3", "15.3"},
	} {
		if got := c.fn(c.in); got != c.want {
			t.Errorf("%s release of %q = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestParseDistroQualifier(t *testing.T) {
	for _, c := range []struct{ in, id, ver string }{
		{"debian-12", "debian", "12"},
		{"12", "", "12"},
		{"bookworm", "", "bookworm"},
		{"ubuntu-22.04", "ubuntu", "22.04"},
		{"alpine-3.19.1", "alpine", "3.19.1"},
		{"3.19.1", "", "3.19.1"},
		{"rhel-8.6", "rhel", "8.6"},
		{"el8", "", "el8"},
		{"opensuse-leap-15.1", "opensuse-leap", "15.1"},
		{"opensuse-tumbleweed", "opensuse-tumbleweed", ""},
		{"ubuntu-jammy", "ubuntu", "jammy"},
		{"", "", ""},
	} {
		if id, ver := parseDistroQualifier(c.in); id != c.id || ver != c.ver {
			t.Errorf("parseDistroQualifier(%q) = %q %q, want %q %q", c.in, id, ver, c.id, c.ver)
		}
	}
}

// TestReleaseFromQualifierForms runs every qualifier spelling from the brief
// through FromPURL.
func TestReleaseFromQualifierForms(t *testing.T) {
	for _, c := range []struct{ purl, eco, rel string }{
		{"pkg:deb/debian/bash@5.2?distro=debian-12", "Debian", "12"},
		{"pkg:deb/debian/bash@5.2?distro=12", "Debian", "12"},
		{"pkg:deb/debian/bash@5.2?distro=bookworm", "Debian", "12"},
		{"pkg:deb/ubuntu/bash@5.1?distro=ubuntu-22.04", "Ubuntu", "22.04"},
		{"pkg:deb/ubuntu/bash@5.1?distro=jammy", "Ubuntu", "22.04"},
		{"pkg:apk/alpine/musl@1.2?distro=alpine-3.19.1", "Alpine", "3.19"},
		{"pkg:apk/alpine/musl@1.2?distro=3.19.1", "Alpine", "3.19"},
		{"pkg:rpm/redhat/bash@5.1?distro=rhel-8.6", "Red Hat", "8"},
		{"pkg:rpm/redhat/bash@5.1?distro=el8", "Red Hat", "8"},
		{"pkg:rpm/almalinux/bash@5.1?distro=almalinux-9.3", "AlmaLinux", "9"},
		{"pkg:rpm/rocky/bash@5.1?distro=rocky-8.9", "Rocky Linux", "8"},
		{"pkg:rpm/opensuse/bash@5.1?distro=opensuse-leap-15.1", "openSUSE", "15.1"},
		{"pkg:rpm/suse/bash@5.1?distro=sles-15.3", "SUSE", "15.3"},
		{"pkg:rpm/fedora/bash@5.1?distro=fedora-39", "Fedora", "39"},
		{"pkg:rpm/centos/bash@5.1?distro=centos-7.6.1810", "CentOS", "7"},
		{"pkg:rpm/amzn/bash@5.1?distro=amzn-2023", "Amazon Linux", "2023"},
		{"pkg:apk/wolfi/glibc@2.39?distro=wolfi-20230201", "Wolfi", ""},
		{"pkg:apk/chainguard/glibc@2.39", "Chainguard", ""},
		{"pkg:rpm/mageia/bash@5.1?distro=mageia-9", "Mageia", "9"},
	} {
		p, err := FromPURL(c.purl, nil)
		if err != nil {
			t.Errorf("%s: %v", c.purl, err)
			continue
		}
		if p.Ecosystem != c.eco || p.Release != c.rel {
			t.Errorf("%s → %q %q, want %q %q", c.purl, p.Ecosystem, p.Release, c.eco, c.rel)
		}
	}
	// Without a qualifier the document's distro decides, but only for its
	// own family.
	p, _ := FromPURL("pkg:deb/debian/bash@5.2", &Distro{ID: "debian", VersionID: "12.5"})
	if p.Release != "12" {
		t.Errorf("release from document distro: %q", p.Release)
	}
	p, _ = FromPURL("pkg:deb/debian/bash@5.2", &Distro{ID: "alpine", VersionID: "3.19"})
	if p.Release != "" {
		t.Errorf("alpine document gave a Debian package release %q", p.Release)
	}
	if _, err := FromPURL("pkg:deb/bash@5.2", nil); err == nil || !strings.Contains(err.Error(), "names no distro") {
		t.Errorf("deb purl without distro: %v", err)
	}
}

func TestLanguageEcosystems(t *testing.T) {
	for _, c := range []struct{ purl, eco, name, ver string }{
		{"pkg:golang/github.com/BurntSushi/toml@v1.2.3", "Go", "github.com/BurntSushi/toml", "v1.2.3"},
		{"pkg:golang/stdlib@go1.24.5", "Go", "stdlib", "go1.24.5"},
		{"pkg:go/golang.org/x/net@v0.7.0", "Go", "golang.org/x/net", "v0.7.0"},
		{"pkg:npm/%40babel/core@7.0.0", "npm", "@babel/core", "7.0.0"},
		{"pkg:npm/JSONStream@1.3.5", "npm", "JSONStream", "1.3.5"},
		{"pkg:gem/rails@4.1.1", "RubyGems", "rails", "4.1.1"},
		{"pkg:cargo/serde@1.0.0", "crates.io", "serde", "1.0.0"},
		{"pkg:composer/Laravel/Framework@7.12.0", "Packagist", "laravel/framework", "7.12.0"},
		{"pkg:pub/http@0.13.0", "Pub", "http", "0.13.0"},
		{"pkg:hex/plug@1.0.0", "Hex", "plug", "1.0.0"},
		{"pkg:swift/github.com/apple/swift-nio@2.0.0", "SwiftURL", "github.com/apple/swift-nio", "2.0.0"},
		{"pkg:cran/ggplot2@3.4.0", "CRAN", "ggplot2", "3.4.0"},
		{"pkg:hackage/aeson@2.0.0", "Hackage", "aeson", "2.0.0"},
		{"pkg:conan/openssl@3.0.0", "ConanCenter", "openssl", "3.0.0"},
		{"pkg:githubactions/actions/checkout@v4", "GitHub Actions", "actions/checkout", "v4"},
		{"pkg:bitnami/postgresql@17.2.0", "Bitnami", "postgresql", "17.2.0"},
	} {
		p, err := FromPURL(c.purl, nil)
		if err != nil {
			t.Errorf("%s: %v", c.purl, err)
			continue
		}
		if p.Ecosystem != c.eco || p.Name != c.name || p.Version != c.ver || p.Release != "" {
			t.Errorf("%s → %q %q %q %q, want %q %q %q", c.purl, p.Ecosystem, p.Name, p.Version, p.Release, c.eco, c.name, c.ver)
		}
	}
}

func TestNormalizePURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"pkg:alpine/busybox@1.36.1-r27?arch=x86_64", "pkg:apk/alpine/busybox@1.36.1-r27?arch=x86_64"},
		{"pkg:apk/openssl@3.2.1?arch=aarch64&distro=alpine-3.20.3", "pkg:apk/alpine/openssl@3.2.1?arch=aarch64&distro=alpine-3.20.3"},
		{"pkg:golang/github.com/ProtonMail/go-crypto@v1.0.0", "pkg:golang/github.com/ProtonMail/go-crypto@v1.0.0"},
		{"pkg:go/golang.org/x/net@v0.7.0", "pkg:golang/golang.org/x/net@v0.7.0"},
		{"pkg:pypi/PyYAML@5.3", "pkg:pypi/pyyaml@5.3"},
		{"pkg:pypi/zope.interface@5.0", "pkg:pypi/zope-interface@5.0"},
		{"pkg:dotnet/Newtonsoft.Json@11.0.2", "pkg:nuget/Newtonsoft.Json@11.0.2"},
		{"pkg:rpm/rhel/bash@5.1?distro=rhel-9", "pkg:rpm/redhat/bash@5.1?distro=rhel-9"},
		{"PKG:NPM/%40colors/colors@1.5.0?b=2&a=1", "pkg:npm/%40colors/colors@1.5.0?a=1&b=2"},
		{"pkg:debian/bash@5.2", "pkg:deb/debian/bash@5.2"},
		{"pkg:rubygems/rails@4.1.1", "pkg:gem/rails@4.1.1"},
	} {
		got, err := NormalizePURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizePURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "/", "pkg:", "pkg:///", "pkg:pypi/", "pkg:apk/alpine/@1.0", "npm/foo@1", "pkg:dotnet/ns/Name@1", "pkg:dotnet/bad%20id@1"} {
		if got, err := NormalizePURL(bad); err == nil {
			t.Errorf("NormalizePURL(%q) = %q, want an error", bad, got)
		}
	}
}

// TestGrypePURLLists reads the real purl lists from Grype's test data.
func TestGrypePURLLists(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/grype-purl-lists/*.txt")
	if len(files) == 0 {
		t.Fatal("no purl lists")
	}
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			p, err := FromPURL(line, nil)
			if err != nil {
				t.Errorf("%s: %s: %v", f, line, err)
				continue
			}
			n++
			switch {
			case strings.HasPrefix(line, "pkg:apk/"):
				if p.Ecosystem != "Alpine" || p.Release != "3.20" {
					t.Errorf("%s → %+v", line, p)
				}
			case strings.Contains(line, "kernel@0:5.14.0-100"):
				if p.Ecosystem != "Red Hat" || p.Release != "9" || p.Version != "0:5.14.0-100" {
					t.Errorf("%s → %+v", line, p)
				}
			case strings.Contains(line, "sysv-rc"):
				if p.Release != "8" || p.SourceName != "sysvinit" {
					t.Errorf("%s → %+v", line, p)
				}
			}
		}
		fh.Close()
	}
	if n != 8 {
		t.Errorf("%d purls read, want 8", n)
	}
}
