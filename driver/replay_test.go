package driver_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// A replay returns the delivery of the original append: its target (not the
// record's current one) and its time (not the replay's).
func TestReplayDeliveryIsTheStoredOne(t *testing.T) {
	r, clk := setup(t)
	ctx := context.Background()
	rg := reg("p")
	rg.EventTypes = []procreg.EventType{{Name: "ping", Wake: &procreg.WakeSpec{Input: procreg.Selector{Kind: procreg.SelectorConst, Const: json.RawMessage(`"go"`)}}}}
	rg.WakeTarget = &procreg.SessionScope{SessionID: "s", AgentFrameID: "f"}
	if _, err := r.RegisterProcess(ctx, rg); err != nil {
		t.Fatal(err)
	}
	req := procreg.AppendRequest{EventType: "ping", Payload: json.RawMessage(`{}`), ReplayKey: "k"}
	first, err := r.AppendEvent(ctx, "p", req)
	if err != nil || first.WakeDelivery == nil {
		t.Fatalf("append: %+v, %v", first, err)
	}
	clk.add(time.Minute)
	if _, err := r.DeleteSessionProcessState(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	req.WakeTarget = &procreg.SessionScope{SessionID: "other"}
	again, err := r.AppendEvent(ctx, "p", req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.WakeDelivery, first.WakeDelivery) {
		t.Fatalf("replayed delivery %+v\nwant %+v", again.WakeDelivery, first.WakeDelivery)
	}
	if !again.WakeDelivery.CreatedAt.Equal(first.Event.OccurredAt) {
		t.Fatalf("replayed CreatedAt %v; want the stored event time %v", again.WakeDelivery.CreatedAt, first.Event.OccurredAt)
	}
}
