//go:build !race

package mpegserver_test

const raceEnabled = false
