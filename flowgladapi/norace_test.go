//go:build !race

package flowgladapi_test

const raceEnabled = false
