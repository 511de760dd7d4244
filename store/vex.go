package store

import (
	"time"

	"github.com/safeguard-dev/safeguard/vex"
)

// VEXImport is one VEX document to store, in one transaction.
type VEXImport struct {
	Source     string
	Statements []vex.Statement
	// At is the import time, and the time of statements the document
	// gives none.
	At time.Time
}

// VEXResult says what a VEX import stored.
type VEXResult struct {
	Statements int
	// Rows counts stored rows: a statement is stored once per name (its
	// vulnerability and each alias).
	Rows int
}
