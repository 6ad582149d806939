package backends_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
)

func TestOpenSelectsBackendByDSN(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, tc := range []struct {
		dsn  string
		tier procreg.DurabilityTier
	}{
		{"memory:", procreg.TierInline},
		{"sqlite:" + filepath.Join(dir, "a.sqlite"), procreg.TierDurable},
		{"sqlite://" + filepath.Join(dir, "b.sqlite"), procreg.TierDurable},
		{filepath.Join(dir, "c.db"), procreg.TierDurable},
	} {
		reg, err := backends.Open(ctx, tc.dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.dsn, err)
		}
		if got := reg.DurabilityTier(); got != tc.tier {
			t.Errorf("Open(%q) tier = %v, want %v", tc.dsn, got, tc.tier)
		}
		if err := reg.Close(); err != nil {
			t.Errorf("Close(%q): %v", tc.dsn, err)
		}
	}
}

func TestOpenSQLiteDSNIsDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reopen.db")
	reg, err := backends.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "p",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal, Payload: []byte(`{"label":"x"}`)},
		Disposition: procreg.DispositionExternallyOwned,
	})
	reg.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The same file through the bare-path spelling sees the process.
	reg, err = backends.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.GetProcess(ctx, "p"); err != nil {
		t.Fatalf("process written through sqlite:%s not found through %s: %v", path, path, err)
	}
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"", "redis://localhost", "oracle:x", "notes.txt", "sqlite:"} {
		reg, err := backends.Open(context.Background(), dsn)
		if !errors.Is(err, procreg.ErrInvalid) {
			if reg != nil {
				reg.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrInvalid", dsn, err)
		}
	}
}

// An unknown DSN is quoted in the error, but never a password it may hold
// (here the MySQL driver's native form, which Open does not take).
func TestOpenUnknownDSNErrorHidesPassword(t *testing.T) {
	_, err := backends.Open(context.Background(), "root:s3cret@tcp(127.0.0.1:3306)/test")
	if !errors.Is(err, procreg.ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open(native MySQL DSN) = %v; want ErrInvalid without the password", err)
	}
}

func TestOpenSQLiteMissingDirectory(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "missing", "x.db")
	if _, err := backends.Open(context.Background(), dsn); !errors.Is(err, procreg.ErrInvalid) {
		t.Fatalf("Open(%q) = %v, want ErrInvalid", dsn, err)
	}
}

func TestOpenExistingNeverCreatesADatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, dsn := range []string{
		filepath.Join(dir, "typo.db"),
		"sqlite:" + filepath.Join(dir, "typo.sqlite"),
	} {
		reg, err := backends.OpenExisting(ctx, dsn)
		if !errors.Is(err, fs.ErrNotExist) {
			if reg != nil {
				reg.Close()
			}
			t.Fatalf("OpenExisting(%q) = %v; want an error wrapping fs.ErrNotExist", dsn, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("OpenExisting left files behind: %v", entries)
	}
}

func TestOpenExistingOpensWhatOpenCreated(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "made.db")
	reg, err := backends.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	if _, err := reg.RegisterProcess(ctx, procreg.Registration{
		ID:          "p1",
		Input:       procreg.ProcessInput{Kind: procreg.InputExternal},
		Disposition: procreg.DispositionExternallyOwned,
		Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
	}); err != nil {
		t.Fatalf("RegisterProcess: %v", err)
	}
	reg.Close()

	again, err := backends.OpenExisting(ctx, dsn)
	if err != nil {
		t.Fatalf("OpenExisting(%q): %v", dsn, err)
	}
	defer again.Close()
	if _, err := again.GetProcess(ctx, "p1"); err != nil {
		t.Errorf("GetProcess after OpenExisting: %v", err)
	}
}

func TestOpenMissingDirectoryIsInvalidAndNotExist(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "no", "such", "dir.db")
	_, err := backends.Open(context.Background(), dsn)
	if !errors.Is(err, procreg.ErrInvalid) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(%q) = %v; want ErrInvalid and fs.ErrNotExist", dsn, err)
	}
}
