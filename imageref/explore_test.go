package imageref

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestExplore(t *testing.T) {
	in := os.Getenv("REFS")
	if in == "" {
		t.Skip()
	}
	for _, s := range strings.Split(in, " ") {
		ref, fs := CheckString(s, nil, nil)
		fmt.Printf("%-45s %s\n", s, ref.String())
		for _, f := range fs {
			if f.Kind == KindUnpinned {
				continue
			}
			fmt.Printf("     %s | %s | %s | %s\n", f.Kind, f.Resembles, f.Suggestion, f.Message)
		}
	}
}

func TestExploreFP(t *testing.T) {
	if os.Getenv("FP") == "" {
		t.Skip()
	}
	c := Default()
	var refs []string
	for _, n := range c.officialOrder {
		refs = append(refs, n+":1", "library/"+n+":1", "docker.io/"+n+":1")
	}
	for _, p := range c.pubOrder {
		if ims := c.publishers[p]; ims != nil {
			for im := range ims {
				refs = append(refs, p+"/"+im+":1")
			}
		} else {
			refs = append(refs, p+"/something:1")
		}
	}
	refs = append(refs, strings.Fields(os.Getenv("FP"))...)
	for _, s := range refs {
		_, fs := CheckString(s, nil, nil)
		for _, f := range fs {
			switch f.Kind {
			case KindUnpinned, KindLatest, KindUnknownTag:
				continue
			}
			fmt.Printf("%-45s %s | %s | %s | %s\n", s, f.Kind, f.Resembles, f.Suggestion, f.Message)
		}
	}
}
