module github.com/safeguard-dev/safeguard

go 1.26.8

require (
	github.com/CycloneDX/cyclonedx-go v0.12.0 // indirect
	github.com/google/osv-scalibr v0.5.3 // indirect
	github.com/package-url/packageurl-go v0.1.7 // indirect
	github.com/pandatix/go-cvss v0.6.4 // indirect
	github.com/spdx/tools-golang v0.5.7 // indirect
)
