package postgres_test

import "testing"

// TestHistories checks concurrent histories for linearizability
// (internal/history) on this backend.
func TestHistories(t *testing.T) { backend.Histories(t) }
