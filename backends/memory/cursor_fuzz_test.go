package memory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
)

// feedFixture is one memory registry per fuzz worker process with a few
// changed processes, the full feed (one record per page) and every cursor
// it handed out.
type feedFixture struct {
	reg     procreg.Registry
	order   []string       // the feed's process ids, in order
	issued  map[string]int // cursor → records served before it
	cursors []string       // the same, in order
}

var feed = sync.OnceValues(func() (*feedFixture, error) {
	ctx := context.Background()
	reg := memory.New()
	for i := range 5 {
		r := procreg.Registration{ID: fmt.Sprintf("p%d", i), Input: procreg.ProcessInput{Kind: procreg.InputExternal},
			Disposition: procreg.DispositionExternallyOwned, EventTypes: []procreg.EventType{{Name: "tick"}}}
		if _, err := reg.RegisterProcess(ctx, r); err != nil {
			return nil, err
		}
	}
	// Change p1 and p3 again: they move to the end of the feed.
	for _, id := range []string{"p1", "p3"} {
		if _, err := reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "tick", Payload: json.RawMessage(`{}`)}); err != nil {
			return nil, err
		}
	}
	fx := &feedFixture{reg: reg, issued: map[string]int{}}
	cur := ""
	for {
		page, err := reg.ProcessesChangedSince(ctx, cur, 1)
		if err != nil {
			return nil, err
		}
		if len(page.Records) == 0 {
			break
		}
		fx.order = append(fx.order, page.Records[0].ID)
		cur = page.Next
		fx.issued[cur] = len(fx.order)
		fx.cursors = append(fx.cursors, cur)
	}
	return fx, nil
})

// FuzzChangeFeedCursor: ProcessesChangedSince with an arbitrary cursor
// string is ErrInvalid unless the registry made that cursor, and a cursor
// it made resumes right after the records it followed. The input is a raw
// cursor, and an edit (replace a byte, or cut) of a genuine one.
func FuzzChangeFeedCursor(f *testing.F) {
	f.Add("", uint8(0), uint16(0), byte('A'), uint8(3))
	f.Add("v1..", uint8(1), uint16(3), byte('B'), uint8(1))
	f.Add("v1.AA.AAAAAAAAAAAAAAAAAAAAAA", uint8(2), uint16(5), byte(0), uint8(200))
	f.Add("garbage", uint8(3), uint16(40), byte('\n'), uint8(2))
	f.Fuzz(func(t *testing.T, raw string, pick uint8, at uint16, b byte, limit uint8) {
		fx, err := feed()
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		lim := int(limit%10) + 1
		genuine := fx.cursors[int(pick)%len(fx.cursors)]
		edited := []byte(genuine)
		if i := int(at) % (len(edited) + 1); i == len(edited) {
			edited = append(edited, b)
		} else if b == 0 {
			edited = edited[:i]
		} else {
			edited[i] = b
		}
		for _, c := range []string{raw, string(edited), genuine} {
			page, err := fx.reg.ProcessesChangedSince(ctx, c, lim)
			served, ok := fx.issued[c]
			if c == "" {
				served, ok = 0, true
			}
			if !ok {
				if !errors.Is(err, procreg.ErrInvalid) {
					t.Fatalf("cursor %q, which the registry did not make: %v, %d records", c, err, len(page.Records))
				}
				continue
			}
			if err != nil {
				t.Fatalf("a cursor the registry made (%q) fails: %v", c, err)
			}
			want := fx.order[served:min(served+lim, len(fx.order))]
			if len(page.Records) != len(want) {
				t.Fatalf("after %d records with limit %d: %d records, want %v", served, lim, len(page.Records), want)
			}
			for i, r := range page.Records {
				if r.ID != want[i] {
					t.Fatalf("after %d records: record %d is %s, want %s", served, i, r.ID, want[i])
				}
			}
		}
	})
}
