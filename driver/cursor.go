package driver

import (
	"context"
	"fmt"

	"github.com/procreg/procreg/internal/core"
)

// cursorSecret returns the database's cursor secret (Tx.CursorKey), read
// on first use and kept: it never changes. A failed read is not kept, so
// the next call tries again.
func (e *engine) cursorSecret(ctx context.Context) ([]byte, error) {
	e.keyMu.Lock()
	defer e.keyMu.Unlock()
	if e.cursorKey != nil {
		return e.cursorKey, nil
	}
	var key string
	err := e.readOne(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		key, err = tx.CursorKey(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("procreg: read the cursor secret: %w", err)
	}
	if key == "" {
		return nil, fmt.Errorf("procreg: the database has an empty cursor secret (procreg_meta.cursor_key)")
	}
	e.cursorKey = []byte(key)
	return e.cursorKey, nil
}

// sealCursor makes the opaque cursor that resumes a call of kind and
// shape (the call's normalized arguments, except its limit) at payload.
func (e *engine) sealCursor(ctx context.Context, kind, shape string, payload []byte) (string, error) {
	key, err := e.cursorSecret(ctx)
	if err != nil {
		return "", err
	}
	return core.SealCursor(key, kind, shape, payload), nil
}

// openCursor checks a cursor given to a call of kind and shape and returns
// its payload; a cursor this database did not make for that call is
// procreg.ErrInvalid.
func (e *engine) openCursor(ctx context.Context, kind, shape, cursor string) ([]byte, error) {
	key, err := e.cursorSecret(ctx)
	if err != nil {
		return nil, err
	}
	return core.OpenCursor(key, kind, shape, cursor)
}
