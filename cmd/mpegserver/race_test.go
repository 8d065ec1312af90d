//go:build race

package main

// raceEnabled builds the command under test with -race when the tests run
// with it, so the command's own code is checked too.
const raceEnabled = true
