//go:build race

package browser

// raceEnabled builds the server under test with the race detector too when
// the tests run with -race, so a data race in a dashboard handler fails them.
const raceEnabled = true
