package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/procreg/procreg"
)

// pageFixture: the ids of the fixture registry in id order and every
// cursor a one-record ListProcessesPage scan (no filter) handed out, with
// the number of records served before it.
type pageFixture struct {
	ids     []string
	issued  map[string]int
	cursors []string
}

var pages = sync.OnceValues(func() (*pageFixture, error) {
	fx, err := feed()
	if err != nil {
		return nil, err
	}
	px := &pageFixture{issued: map[string]int{}}
	cur := ""
	for {
		page, err := fx.reg.ListProcessesPage(context.Background(), procreg.ListFilter{}, 1, cur)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			px.ids = append(px.ids, r.ID)
		}
		if page.Next == "" {
			return px, nil
		}
		cur = page.Next
		px.issued[cur] = len(px.ids)
		px.cursors = append(px.cursors, cur)
	}
})

// FuzzListProcessesPageCursor: ListProcessesPage with a cursor the
// registry did not make for that call (a raw string, an edit of a genuine
// one, a genuine one with another filter or given to ListNonTerminalPage)
// is ErrInvalid; a genuine one resumes right after its records.
func FuzzListProcessesPageCursor(f *testing.F) {
	f.Add("", uint8(0), uint16(0), byte('A'), uint8(3))
	f.Add("v1..", uint8(1), uint16(3), byte('B'), uint8(1))
	f.Add("garbage", uint8(3), uint16(40), byte('\n'), uint8(2))
	f.Fuzz(func(t *testing.T, raw string, pick uint8, at uint16, b byte, limit uint8) {
		fx, err := feed()
		if err != nil {
			t.Fatal(err)
		}
		px, err := pages()
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		lim := int(limit%10) + 1
		genuine := px.cursors[int(pick)%len(px.cursors)]
		edited := []byte(genuine)
		if i := int(at) % (len(edited) + 1); i == len(edited) {
			edited = append(edited, b)
		} else if b == 0 {
			edited = edited[:i]
		} else {
			edited[i] = b
		}
		for _, c := range []string{raw, string(edited), genuine} {
			page, err := fx.reg.ListProcessesPage(ctx, procreg.ListFilter{}, lim, c)
			served, ok := px.issued[c]
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
			want := px.ids[served:min(served+lim, len(px.ids))]
			if len(page.Records) != len(want) {
				t.Fatalf("after %d records with limit %d: %d records, want %v", served, lim, len(page.Records), want)
			}
			for i, r := range page.Records {
				if r.ID != want[i] {
					t.Fatalf("after %d records: record %d is %s, want %s", served, i, r.ID, want[i])
				}
			}
			if c == "" {
				continue
			}
			// The same cursor for another call shape is refused.
			if _, err := fx.reg.ListProcessesPage(ctx, procreg.ListFilter{Definition: []byte(`{"x":1}`)}, lim, c); !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("a page cursor opened for another filter: %v", err)
			}
			if _, err := fx.reg.ListNonTerminalPage(ctx, lim, c); !errors.Is(err, procreg.ErrInvalid) {
				t.Fatalf("a ListProcessesPage cursor opened for ListNonTerminalPage: %v", err)
			}
		}
	})
}
