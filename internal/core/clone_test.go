package core

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/procreg/procreg"
)

// A listing reads specs through the cache without filling it; a read of
// one process fills it; both return what the stored spec says.
func TestRecordSpecRemembersOnlyWhenAsked(t *testing.T) {
	r := procreg.Registration{ID: "record-spec", Input: procreg.ProcessInput{Kind: procreg.InputTool,
		Payload: json.RawMessage(`{"a":1}`)}, Disposition: procreg.DispositionRerunnable, EnvRef: "e"}
	spec, err := MarshalCanonical(r)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256Hex(spec)
	got, err := RecordSpec(hash, string(spec), false)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("RecordSpec = %+v, %v; want %+v", got, err, r)
	}
	if _, ok := specCache.get(hash); ok {
		t.Fatal("a listing's read (remember=false) filled the spec cache")
	}
	if _, err := RecordSpec(hash, string(spec), true); err != nil {
		t.Fatal(err)
	}
	if _, ok := specCache.get(hash); !ok {
		t.Fatal("a single read (remember=true) did not fill the spec cache")
	}
	// From the cache now, even given a garbled spec: the hash decides.
	got, err = RecordSpec(hash, "garbled", false)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("cached RecordSpec = %+v, %v; want %+v", got, err, r)
	}
}
