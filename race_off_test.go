//go:build !race

package flowglad_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
