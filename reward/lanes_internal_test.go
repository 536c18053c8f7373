package reward

import "testing"

// TestEnterLane: a decision goes to the lane that holds its member, else
// its code, else its own; holds last until left; one lane holds nothing.
func TestEnterLane(t *testing.T) {
	e := &Engine{lanes: 4}
	a, leaveA := e.enterLane(2, memberLane("ann"), codeLane("C1"))
	if a != 2 {
		t.Fatalf("a scan nobody holds went to lane %d, want its own 2", a)
	}
	// Ann's scan of another code, whose own lane is 0: Ann's lane.
	b, leaveB := e.enterLane(0, memberLane("ann"), codeLane("C2"))
	// Bob's scan of C2, which Ann's second scan holds: C2's lane.
	c, leaveC := e.enterLane(3, memberLane("bob"), codeLane("C2"))
	if b != 2 || c != 2 {
		t.Fatalf("lanes %d and %d, want 2 and 2: the member's, then the code's", b, c)
	}
	leaveA()
	leaveB()
	if d, leave := e.enterLane(1, memberLane("ann"), codeLane("C3")); d != 1 {
		t.Errorf("Ann's scan after her others were answered went to lane %d, want its own 1", d)
	} else {
		leave()
	}
	// Bob still holds lane 2 until answered.
	if d, leave := e.enterLane(0, memberLane("bob")); d != 2 {
		t.Errorf("Bob's exchange went to lane %d while his scan holds 2", d)
	} else {
		leave()
	}
	leaveC()
	if n := len(e.lanesHeld.held); n != 0 {
		t.Errorf("%d holds left after every decision was answered", n)
	}
	one := &Engine{lanes: 1}
	if l, leave := one.enterLane(0, memberLane("ann")); l != -1 || len(one.lanesHeld.held) != 0 {
		t.Errorf("one lane: lane %d, %d holds; want -1 (the store's choice) and none", l, len(one.lanesHeld.held))
	} else {
		leave()
	}
}
