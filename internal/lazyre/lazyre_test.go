package lazyre

import "testing"

func TestNewCompilesOnce(t *testing.T) {
	re := New(`^a+$`)
	if !re().MatchString("aaa") || re().MatchString("b") {
		t.Fatal("wrong match")
	}
	if re() != re() {
		t.Fatal("compiled twice")
	}
	if got := Exprs(); len(got) == 0 || got[len(got)-1] != `^a+$` {
		t.Fatalf("Exprs() = %q", got)
	}
}

func TestNewPanicsOnUseOfABadExpression(t *testing.T) {
	re := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	re()
}
