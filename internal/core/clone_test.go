package core

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/procreg/procreg"
)

// A stored spec is decoded once: the next read of the same hash comes from
// the cache (even given a garbled spec, the hash decides), and every read
// returns what the stored spec says.
func TestRecordSpecDecodesOnce(t *testing.T) {
	r := procreg.Registration{ID: "record-spec", Input: procreg.ProcessInput{Kind: procreg.InputTool,
		Payload: json.RawMessage(`{"a":1}`)}, Disposition: procreg.DispositionRerunnable, EnvRef: "e"}
	spec, err := MarshalCanonical(r)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256Hex(spec)
	got, err := RecordSpec(hash, string(spec))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("RecordSpec = %+v, %v; want %+v", got, err, r)
	}
	got, err = RecordSpec(hash, "garbled")
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("cached RecordSpec = %+v, %v; want %+v", got, err, r)
	}
}
