package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/procreg/procreg/driver"
)

// RunFloor checks a dialect's floor (driver.Floor, what `procreg bench`
// measures the registry against): Prepare creates the scratch table (and
// again without error) with its rows; Update, Select and Insert work from
// many goroutines at once; an Insert of an existing id and an Update of a
// missing row fail; Cleanup deletes the rows of one prefix and no others,
// and refuses a prefix that LIKE would misread. open returns the floor of
// an existing database (a fresh one: the check writes the rows run-a-… and
// run-b-…); RunFloor closes it.
//
//	func TestFloor(t *testing.T) {
//		conformance.RunFloor(t, func(t *testing.T) driver.Floor {
//			return conformance.OpenFloor(t, freshDatabaseDSN(t))
//		})
//	}
func RunFloor(t *testing.T, open func(t *testing.T) driver.Floor) {
	t.Helper()
	ctx := context.Background()
	f := open(t)
	defer f.Close()
	if fo := f.AppendFloor(); fo != driver.FloorInsert && fo != driver.FloorUpdate {
		t.Errorf("AppendFloor() = %q, want %q or %q", fo, driver.FloorInsert, driver.FloorUpdate)
	}
	rows := []string{"run-a-0", "run-a-1", "run-a-2", "run-a-3"}
	if err := f.Prepare(ctx, rows); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if err := f.Prepare(ctx, []string{"run-b-0"}); err != nil {
		t.Fatalf("Prepare on an existing table: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(rows))
	for i, id := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.Update(ctx, id)
			errs <- f.Select(ctx, id)
			errs <- f.Insert(ctx, fmt.Sprintf("%s-new-%d", id, i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := f.Insert(ctx, rows[0]); err == nil {
		t.Error("Insert of an existing id succeeded")
	}
	if err := f.Update(ctx, "run-a-missing"); err == nil {
		t.Error("Update of a missing row succeeded")
	}
	if err := f.Cleanup(ctx, "run-a-"); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	for _, id := range append(rows, "run-a-0-new-0") {
		if err := f.Select(ctx, id); err == nil {
			t.Errorf("row %s survived Cleanup", id)
		}
	}
	if err := f.Select(ctx, "run-b-0"); err != nil {
		t.Errorf("Cleanup of run-a- deleted run-b-0: %v", err)
	}
	for _, bad := range []string{"", "run_%", "a'b"} {
		if err := f.Cleanup(ctx, bad); err == nil {
			t.Errorf("Cleanup(%q) accepted a prefix LIKE would misread", bad)
		}
	}
}

// OpenFloor returns the floor of the database dsn names, through the
// dialect registered for it, or fails t (also when the dialect has none).
func OpenFloor(t *testing.T, dsn string) driver.Floor {
	t.Helper()
	d, ok := driver.Lookup(dsn)
	if !ok || d.Floor == nil {
		t.Fatalf("no registered dialect with a floor serves the DSN (dialect %q)", d.Name)
	}
	f, err := d.Floor(context.Background(), dsn)
	if err != nil {
		t.Fatalf("%s floor: %v", d.Name, err)
	}
	return f
}
