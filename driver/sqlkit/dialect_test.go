package sqlkit_test

import (
	"errors"
	"testing"

	"github.com/procreg/procreg/driver"
	"github.com/procreg/procreg/driver/sqlkit"
)

var (
	errNoRows = errors.New("no rows")
	errDup    = errors.New("duplicate key")
)

// testDialect classifies the two errors above; everything else is other.
var testDialect = &sqlkit.Dialect{Name: "test", Classify: func(err error) driver.ErrorClass {
	switch {
	case errors.Is(err, errNoRows):
		return driver.ClassNoRows
	case errors.Is(err, errDup):
		return driver.ClassUniqueViolation
	}
	return driver.ClassOther
}}

func TestFoundAsksTheClassifier(t *testing.T) {
	if ok, err := testDialect.Found("read process", "p", nil); !ok || err != nil {
		t.Errorf("nil: %v, %v", ok, err)
	}
	if ok, err := testDialect.Found("read process", "p", errNoRows); ok || err != nil {
		t.Errorf("no rows: %v, %v", ok, err)
	}
	ok, err := testDialect.Found("read process", "p", errDup)
	if ok || !errors.Is(err, errDup) || err.Error() != `test: read process "p": duplicate key` {
		t.Errorf("other: %v, %v", ok, err)
	}
}

func TestCheckInsertRetriesAUniqueViolation(t *testing.T) {
	if err := testDialect.CheckInsert("insert process", "p", nil); err != nil {
		t.Errorf("nil: %v", err)
	}
	if err := testDialect.CheckInsert("insert process", "p", errDup); !errors.Is(err, sqlkit.ErrRetry) || !errors.Is(err, errDup) {
		t.Errorf("unique violation: %v", err)
	}
	if err := testDialect.CheckInsert("insert process", "p", errNoRows); errors.Is(err, sqlkit.ErrRetry) {
		t.Errorf("other error marked for retry: %v", err)
	}
}
