package main

import (
	"strings"
	"testing"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestPushWHIP: push publishes its pattern by WHIP to mediamtx for 2 s,
// says where to watch it (mediamtx's page and WHEP endpoint), and never
// prints the token; a wrong token is exit 1 with the reason.
func TestPushWHIP(t *testing.T) {
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true, Users: []testutil.MediaMTXUser{{User: "pub", Pass: "s3cret", Publish: true}}})
	out, errOut, code := runCmd(t, nil, "push", "--duration", "2s", "--width", "320", "--height", "240", m.WHIP("cam", "pub:s3cret"))
	t.Logf("stdout:\n%s", out)
	if code != 0 || summaryFrames(t, out) < 30 {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"(WHIP)", m.Page("cam"), "WHEP: " + m.WHEP("cam"), "whip+http://REDACTED@"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Errorf("the token is printed:\n%s%s", out, errOut)
	}
	// --duration bounds Setup too: give the refusal time to come on a
	// loaded machine, where the encoder's bring-up alone can take seconds.
	out, errOut, code = runCmd(t, nil, "push", "--duration", "20s", "--width", "320", "--height", "240", m.WHIP("cam", "pub:wr0ng"))
	if code != 1 || !strings.Contains(errOut, "not authorized") || strings.Contains(out+errOut, "wr0ng") {
		t.Errorf("wrong token: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("wrong token: %s", strings.TrimSpace(errOut))
}
