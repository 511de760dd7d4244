package imageref_test

import (
	"fmt"

	"github.com/safeguard-dev/safeguard/imageref"
)

func ExampleParse() {
	for _, s := range []string{"ubuntu", "test.com:5000", "localhost:5000/app:1.2", "node:-16"} {
		ref, err := imageref.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(ref)
	}
	// Output:
	// docker.io/library/ubuntu:latest
	// docker.io/library/test.com:5000
	// localhost:5000/app:1.2
	// invalid image reference "node:-16": tag must start with a letter, digit or underscore
}

func ExampleCheckString() {
	_, findings := imageref.CheckString("ubunto:20.04", nil, nil)
	for _, f := range findings {
		fmt.Printf("%s: resembles %q, suggestion %q\n", f.Kind, f.Resembles, f.Suggestion)
	}
	// Output:
	// typosquat-name: resembles "ubuntu", suggestion "ubuntu:20.04"
	// unpinned: resembles "", suggestion "ubuntu:20.04@sha256:<digest>"
}
