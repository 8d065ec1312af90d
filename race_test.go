//go:build race

package mpegserver_test

// raceEnabled: the race detector keeps shadow memory that RSS figures
// would count, so memory bounds are checked only without it.
const raceEnabled = true
