//go:build !linux

package mpegserver

import "net/netip"

// Elsewhere than Linux the sink's socket is not looked for: loss is seen
// only through GStreamer's errors.
type sinkSocket struct{}

type socketState struct {
	open           bool
	acked, pending uint64
}

func socketInodes() map[uint64]int { return nil }

func findSinkSocket(netip.AddrPort, map[uint64]int) (sinkSocket, bool) { return sinkSocket{}, false }

func (sinkSocket) state() (socketState, bool) { return socketState{}, false }

func (sinkSocket) shutdown() {}
