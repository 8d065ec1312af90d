// Package peer holds what the module's pion peer connections share: ICE
// kept on loopback (the browser view, the WHIP output, the tests' players
// and receivers) and keyframe requests read from what a receiver sends
// back.
package peer

import (
	"net"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// LoopbackOnly makes ICE gather candidates on loopback only and accept
// only a peer's on loopback, so that nothing is sent to another
// interface.
func LoopbackOnly(se *webrtc.SettingEngine) {
	loopback := func(ip net.IP) bool { return ip.IsLoopback() }
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(loopback)
	se.SetRemoteIPFilter(loopback)
}

// KeyframeRequests reads what the receiver at the other end of sender
// sends back, until the connection closes (the interceptors need it read:
// NACKs, reports), and calls f for each keyframe request (PLI, FIR: the
// receiver's decoder lost its picture).
func KeyframeRequests(sender *webrtc.RTPSender, f func()) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				f()
			}
		}
	}
}
