//go:build race

package flowglad_test

// raceEnabled: the race detector makes tests many times slower; the few that feed the
// handler bodies of hundreds of thousands of items use fewer under it (the same property,
// a smaller worst case), so that the -race run stays within CI's time.
const raceEnabled = true
